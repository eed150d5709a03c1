/*
 * launcher.c
 *     The launcher: one static background worker in provisioning.database_name that
 *     starts a run worker for each runnable run, at most provisioning.max_workers at once.
 *
 * It sleeps on its latch. A transaction that queued runs hands them at commit to idle run
 * workers, which claim them without this hop, and sets this latch for the rest (api.c,
 * queue.c); the postmaster sets it when a run worker exits (bgw_notify_pid). A long safety
 * nap also picks up runs queued by prepared transactions, which wake nobody.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "engine_outage.h"
#include "health.h"
#include "provisioning.h"

#define LAUNCHER_NAP_MS 10000		/* safety net only: commits wake the launcher */
#define LAUNCH_RETRY_MS 1000		/* after max_worker_processes ran out, or a deferred run */
#define MAX_ACTIVE MAX_RUN_WORKERS
#define PRUNE_INTERVAL_MS (5 * 60 * 1000)	/* how often old runs are pruned */
#define PRUNE_BATCH 1000			/* runs deleted per (short) transaction */

typedef struct ActiveRun
{
	pg_uuid_t	run_id;
	BackgroundWorkerHandle *handle;
} ActiveRun;

static ActiveRun active[MAX_ACTIVE];
static int	n_active = 0;
static bool out_of_slots = false;	/* the last worker start found no free slot */

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&prov_shared->mutex);
	if (prov_shared->launcher_latch == MyLatch)
		prov_shared->launcher_latch = NULL;
	SpinLockRelease(&prov_shared->mutex);
}

/* Forgets run workers that have exited. */
static void
reap_workers(void)
{
	for (int i = 0; i < n_active;)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(active[i].handle, &pid) == BGWH_STOPPED)
		{
			pfree(active[i].handle);
			active[i] = active[--n_active];
		}
		else
			i++;
	}
}

static bool
is_active(const pg_uuid_t *run_id)
{
	for (int i = 0; i < n_active; i++)
		if (memcmp(active[i].run_id.data, run_id->data, UUID_LEN) == 0)
			return true;
	return false;
}

/*
 * Runnable runs, oldest first, that no worker holds or is being started for: at most want
 * of them. *deferred tells whether a run was held back for a moment (runnable_runs).
 */
static int
find_runnable(pg_uuid_t *found, int want, bool *deferred)
{
	pg_uuid_t	ids[MAX_ACTIVE * 2];
	int			n = 0;
	int			candidates;

	worker_txn_begin("looking for runnable provisioning runs");
	candidates = runnable_runs(ids, Min(want + n_active, lengthof(ids)), deferred);
	for (int i = 0; i < candidates && n < want; i++)
		if (!is_active(&ids[i]))
			memcpy(&found[n++], &ids[i], sizeof(pg_uuid_t));
	worker_txn_commit();
	return n;
}

/* Sets the latch of every run worker; the idle ones look for work. */
static void
wake_workers(void)
{
	for (int i = 0; i < n_active; i++)
	{
		pid_t		pid;
		PGPROC	   *proc;

		if (GetBackgroundWorkerPid(active[i].handle, &pid) == BGWH_STARTED &&
			(proc = BackendPidGetProc(pid)) != NULL)
			SetLatch(&proc->procLatch);
	}
}

static bool
launch_worker(const pg_uuid_t *run_id)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	char	   *id = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(run_id)));
	bool		ok;

	dynamic_worker_init(&worker, "provisioning_run_main", "provisioning run");
	snprintf(worker.bgw_name, BGW_MAXLEN, "provisioning run %s", id);
	memcpy(worker.bgw_extra, run_id->data, UUID_LEN);

	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		/* said once until a start succeeds again, not at every retry */
		if (!out_of_slots)
			ereport(LOG,
					(errmsg("provisioning launcher could not start a worker for run %s", id),
					 errdetail("All max_worker_processes background worker slots are in use."),
					 errhint("Raise max_worker_processes, or lower provisioning.max_workers; the run starts when a slot is free.")));
		out_of_slots = true;
		return false;
	}
	out_of_slots = false;
	memcpy(&active[n_active].run_id, run_id, sizeof(pg_uuid_t));
	active[n_active].handle = handle;
	n_active++;
	return true;
}

/*
 * Hands runnable runs to idle workers first, then starts workers for the rest; false
 * when some run must be tried again soon.
 */
static bool
dispatch(void)
{
	pg_uuid_t	runs[MAX_ACTIVE];
	int			idle = Min(idle_workers(), n_active);
	int			capacity = Min(prov_max_workers, MAX_ACTIVE) - n_active;
	bool		deferred = false;
	int			n;

	if (capacity + idle <= 0)
		return true;
	n = find_runnable(runs, capacity + idle, &deferred);
	if (n > 0 && idle > 0)
		wake_workers();
	for (int i = idle; i < n; i++)
		if (!launch_worker(&runs[i]))
			return false;
	return !deferred;
}

/* Runs a worker SQL call of (engine text, since timestamptz); its integer result, or 0. */
static int
outage_call(SPIPlanPtr *plan, const char *query, const char *engine, TimestampTz since)
{
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[2] = {CStringGetTextDatum(engine), TimestampTzGetDatum(since)};
	bool		isnull = true;
	Datum		result;

	worker_plan(plan, "the engine outages' query", query, 2, types);
	if (SPI_execute_plan(*plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record an engine outage");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt32(result);
}

/* Outages provisioning.engine_outages holds open that shared memory forgot in a restart. */
static void
restore_outages(void)
{
	worker_txn_begin("restoring engine outages");
	if (SPI_execute("SELECT engine, since FROM provisioning.engine_outages WHERE ended_at IS NULL",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read provisioning.engine_outages");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		char	   *engine = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Datum		since = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);

		engine_outage_restore(engine, DatumGetTimestampTz(since));
	}
	worker_txn_commit();
}

/*
 * Keeps the engines' outages (engine_outage.c): records the new ones, queues again the runs
 * an ended one turned away, and probes each engine still down when its probe is due. How
 * long until the next probe is due (ms), or -1 for none.
 */
static long
tend_outages(void)
{
	static SPIPlanPtr began = NULL;
	static SPIPlanPtr ended = NULL;
	static bool restored = false;
	EngineOutage outages[ENGINE_OUTAGE_SIZE];
	int			n;
	int			queued = 0;
	long		next = -1;

	if (!restored)
	{
		worker_txn_begin("looking for the provisioning schema");
		restored = extension_ready();
		worker_txn_commit();
		if (!restored)
			return -1;
		restore_outages();
	}
	n = engine_outages(outages, lengthof(outages));
	if (n == 0)
		return -1;
	worker_txn_begin("recording engine outages");
	if (!extension_ready())
	{
		worker_txn_commit();
		return -1;
	}
	/* an ended outage's row is closed before a new one of the same engine opens */
	for (int i = 0; i < n; i++)
	{
		if (outages[i].ended != 0)
			queued += outage_call(&ended, "SELECT provisioning._engine_outage_ended($1, $2)",
								  outages[i].engine, outages[i].ended);
		if (outages[i].since != 0 && !outages[i].recorded)
			(void) outage_call(&began, "SELECT provisioning._engine_outage_began($1, $2)",
							   outages[i].engine, outages[i].since);
	}
	worker_txn_commit();
	if (queued > 0)
		wake_for_runs(queued);
	for (int i = 0; i < n; i++)
	{
		engine_outage_settled(&outages[i]);
		if (outages[i].since == 0)
			continue;
		/* the probe's answer (engine_outage_note) sets this latch when the engine is back */
		if (engine_probe_turn(outages[i].engine))
			engine_probe(outages[i].engine);
		next = next < 0 ? prov_engine_probe_interval_ms : Min(next, prov_engine_probe_interval_ms);
	}
	return next;
}

/*
 * Deletes one batch of runs older than provisioning.history_retention in a short
 * transaction; true when there may be more. The loop prunes a batch per pass, between
 * dispatches, so pruning never delays a queued run.
 */
static bool
prune_batch(void)
{
	int			deleted = 0;

	worker_txn_begin("pruning provisioning history");
	if (extension_ready())
	{
		bool		isnull;

		if (SPI_execute("SELECT provisioning.prune_history(" CppAsString2(PRUNE_BATCH) ")",
						false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not prune the provisioning history");
		deleted = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	worker_txn_commit();
	return deleted >= PRUNE_BATCH;
}

void
provisioning_launcher_main(Datum arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_prune = 0;
	bool		pruning = false;	/* a pruning pass has more batches to go */

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(prov_database_name, NULL, 0);
	pgstat_report_appname("provisioning launcher");

	SpinLockAcquire(&prov_shared->mutex);
	prov_shared->launcher_latch = MyLatch;
	SpinLockRelease(&prov_shared->mutex);
	before_shmem_exit(launcher_detach, 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "provisioning launcher loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old;
		bool		launched_all;
		long		probe_ms;
		long		nap_ms;

		CHECK_FOR_INTERRUPTS();
		reload_if_pending();

		old = MemoryContextSwitchTo(loop_cxt);
		reap_workers();
		launched_all = dispatch();
		probe_ms = tend_outages();
		if (pruning || TimestampDifferenceExceeds(last_prune, GetCurrentTimestamp(), PRUNE_INTERVAL_MS))
		{
			pruning = prune_batch();
			last_prune = GetCurrentTimestamp();
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);

		pgstat_report_activity(STATE_IDLE, NULL);
		nap_ms = pruning ? 0 : launched_all ? LAUNCHER_NAP_MS : LAUNCH_RETRY_MS;
		if (probe_ms >= 0)
			nap_ms = Min(nap_ms, probe_ms);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, nap_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
