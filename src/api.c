/*
 * api.c
 *     SQL-callable entry points used by the SQL API: waking the launcher at commit.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"

#include "api.h"
#include "provisioning.h"

PG_FUNCTION_INFO_V1(provisioning_wake);
PG_FUNCTION_INFO_V1(provisioning_workers_serve_here);

static bool wake_at_commit = false;
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

/* Sets the launcher's latch; the wake of a transaction that committed. */
static void
wake_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_at_commit)
			{
				Latch	   *latch;

				SpinLockAcquire(&prov_shared->mutex);
				latch = prov_shared->launcher_latch;
				SpinLockRelease(&prov_shared->mutex);
				/* a latch outlives its process, so a stale one only wakes someone idle */
				if (latch)
					SetLatch(latch);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/* provisioning._wake(): wake the launcher when this transaction commits. */
Datum
provisioning_wake(PG_FUNCTION_ARGS)
{
	require_workers();
	if (!callback_registered)
	{
		RegisterXactCallback(wake_callback, NULL);
		callback_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_VOID();
}
