/*
 * worker.c
 *     What every provisioning background worker shares: the template of a dynamic worker,
 *     whether the schema it works with is there, and waiting on its latch (configuration
 *     reloads, interrupts and postmaster death served).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "http.h"
#include "provisioning.h"

/*
 * A dynamic background worker of this library in this database, calling function; its exit
 * sets the caller's latch (bgw_notify_pid). The caller names it and fills bgw_extra.
 */
void
dynamic_worker_init(BackgroundWorker *worker, const char *function, const char *type)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker->bgw_library_name, "provisioning", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
	worker->bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker->bgw_notify_pid = MyProcPid;
}

/*
 * A dynamic worker's start (its main's first call): SIGHUP reloads the configuration at the
 * next reload_if_pending, SIGTERM ends it; it connects to the database dynamic_worker_init
 * gave it (arg), named appname in pg_stat_activity.
 */
void
dynamic_worker_connect(Datum arg, const char *appname)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname(appname);
}

/*
 * Is the schema this library works with (1.3) installed in this database? It may be
 * absent, or older until ALTER EXTENSION provisioning UPDATE: the workers wait for it.
 */
bool
extension_ready(void)
{
	Oid			nsp;

	if (!OidIsValid(get_extension_oid("provisioning", true)))
		return false;
	nsp = get_namespace_oid("provisioning", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("unsettled_creates", nsp));
}

/* Reads the configuration again when a SIGHUP asked for it. */
void
reload_if_pending(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * Waits on the latch for at most ms, returning when it is set: interrupts, reloads and
 * postmaster death are served, and a run worker takes its step workers' reports.
 */
void
worker_wait(long ms)
{
	if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
				  PG_WAIT_EXTENSION) & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		/* a step's wait, as a request's: the run worker takes its step workers' reports */
		if (http_wait_hook != NULL)
			http_wait_hook();
	}
	CHECK_FOR_INTERRUPTS();
	reload_if_pending();
}

/* Sleeps with the latch for ms (worker_wait) */
void
worker_sleep(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	worker_flush_owed();
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		if (left <= 0)
			break;
		worker_wait(left);
	}
}
