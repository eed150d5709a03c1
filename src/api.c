/*
 * api.c
 *     SQL-callable entry points used by the SQL API: waking the launcher at commit.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "api.h"
#include "engine_limits.h"
#include "provisioning.h"

PG_FUNCTION_INFO_V1(provisioning_wake);
PG_FUNCTION_INFO_V1(provisioning_workers_serve_here);

static int	runs_to_wake = 0;		/* runs queued by this transaction */
static bool callback_registered = false;

static bool
serves_this_database(void)
{
	return strcmp(get_database_name(MyDatabaseId), prov_database_name) == 0;
}

/* provisioning._workers_serve_here(): can a run queued here be executed? */
Datum
provisioning_workers_serve_here(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(prov_preloaded && prov_shared != NULL && serves_this_database());
}

void
require_workers(void)
{
	if (!prov_preloaded || prov_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("provisioning background workers are not running"),
				 errdetail("The provisioning library was not loaded at server start."),
				 errhint("Add provisioning to shared_preload_libraries in postgresql.conf and restart the server.")));
	if (!serves_this_database())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("provisioning runs only in database \"%s\"", prov_database_name),
				 errhint("Set provisioning.database_name = '%s' in postgresql.conf and restart the server, or use database \"%s\".",
						 get_database_name(MyDatabaseId), prov_database_name)));
}

/* The runs of a transaction that committed can start: wake who starts them. */
static void
wake_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (runs_to_wake > 0)
				wake_for_runs(runs_to_wake);
			runs_to_wake = 0;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			runs_to_wake = 0;
			break;
		default:
			break;
	}
}

/*
 * provisioning._wake(): a run was queued; when this transaction commits, an idle run
 * worker (or the launcher) is woken for it.
 */
Datum
provisioning_wake(PG_FUNCTION_ARGS)
{
	require_workers();
	if (!callback_registered)
	{
		RegisterXactCallback(wake_callback, NULL);
		callback_registered = true;
	}
	if (runs_to_wake < MAX_RUN_WORKERS)
		runs_to_wake++;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(provisioning_engine_paused);

/* provisioning._engine_paused(engine text): false where no worker keeps engine limits. */
Datum
provisioning_engine_paused(PG_FUNCTION_ARGS)
{
	char	   *engine = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(prov_preloaded && prov_shared != NULL && engine_paused(engine));
}
