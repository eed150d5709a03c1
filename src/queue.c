/*
 * queue.c
 *     The run queue, shared by the launcher and the run workers: which runs are runnable,
 *     and the session lock that makes a run one worker's.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/spin.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "provisioning.h"

/* Distinct advisory lock spaces, apart from pg_advisory_lock()'s 1 and 2 */
#define RUN_LOCK_SPACE 0x5052
#define STEP_LOCK_SPACE 0x5300	/* plus the step's index */

static void
lock_tag(LOCKTAG *tag, const pg_uuid_t *run_id, uint16 space)
{
	uint32		k1,
				k2;

	memcpy(&k1, run_id->data, 4);
	memcpy(&k2, run_id->data + 4, 4);
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, k1, k2, space);
}

/* Takes a session lock without waiting; with for_real false only tests whether it is free. */
static bool
session_lock_try(const LOCKTAG *tag, bool for_real)
{
	if (LockAcquire(tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (!for_real)
		LockRelease(tag, ExclusiveLock, true);
	return true;
}

static void
run_lock_tag(LOCKTAG *tag, const pg_uuid_t *run_id)
{
	lock_tag(tag, run_id, RUN_LOCK_SPACE);
}

/*
 * Takes the run's session lock without waiting. With for_real false it only tests
 * whether the lock is free (the launcher's check for a worker holding the run).
 */
bool
run_lock_acquire(const pg_uuid_t *run_id, bool for_real)
{
	LOCKTAG		tag;

	run_lock_tag(&tag, run_id);
	return session_lock_try(&tag, for_real);
}

void
run_lock_release(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	run_lock_tag(&tag, run_id);
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * A step's session lock: the process executing it holds it. Taken without waiting;
 * with for_real false it only tests whether a step worker holds it.
 */
bool
step_lock_acquire(const pg_uuid_t *run_id, int step, bool for_real)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_LOCK_SPACE + step);
	return session_lock_try(&tag, for_real);
}

void
step_lock_release(const pg_uuid_t *run_id, int step)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_LOCK_SPACE + step);
	LockRelease(&tag, ExclusiveLock, true);
}

/* Waits until no step worker holds the step (in a transaction, for the lock manager). */
void
step_lock_wait(const pg_uuid_t *run_id, int step)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_LOCK_SPACE + step);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	LockRelease(&tag, ExclusiveLock, true);
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

/*
 * Does a queued run wait for a worker? Then the workers' processes and the cores are
 * better spent on runs than on one run's steps at once. Call inside a worker transaction.
 */
bool
runs_waiting(void)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	worker_plan(&plan, "the provisioning queue's query",
				"SELECT EXISTS (SELECT FROM provisioning.tenant_onboarding WHERE status = 'PENDING')",
				0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the provisioning queue");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Up to max runs (queued, or interrupted while running), oldest first, into ids, that no
 * worker holds and that are not held back: an interrupted run claimed less than
 * RELAUNCH_DELAY_MS ago (its worker died at once: no tight crash loop), and a run with no
 * log row yet (a restore in progress brings its log after it; a queued run always has its
 * "run queued" row). *held_back says whether any was. Call inside a worker transaction.
 */
int
runnable_runs(pg_uuid_t *ids, int max, bool *held_back)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(max)};
	int			n = 0;

	if (max <= 0 || !extension_ready())
		return 0;
	/* planned once per process: a woken worker's first request waits for this */
	worker_plan(&plan, "the provisioning queue's query",
				"SELECT o.id, o.status = 'IN_PROGRESS'"
				"   AND o.claimed_at > pg_catalog.clock_timestamp() - interval '" CppAsString2(RELAUNCH_DELAY_MS) " ms'"
				"  FROM provisioning.tenant_onboarding o"
				" WHERE o.status IN ('PENDING', 'IN_PROGRESS')"
				"   AND EXISTS (SELECT FROM provisioning.run_log l WHERE l.run_id = o.id)"
				" ORDER BY o.created_at LIMIT $1", 1, types);
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the provisioning queue");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *id = DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		if (!run_lock_acquire(id, false))
			continue;			/* a worker has it */
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)))
		{
			*held_back = true;
			continue;
		}
		memcpy(&ids[n++], id, sizeof(pg_uuid_t));
	}
	return n;
}

/*
 * Wakes whoever starts the runs a transaction queued, once it committed: an idle run
 * worker per run while there are some (it claims a run at once, without the launcher's
 * hop), and the launcher for the rest. A latch outlives its process, so a stale one
 * only wakes someone idle.
 */
void
wake_for_runs(int runs)
{
	Latch	   *woken[MAX_RUN_WORKERS];
	Latch	   *launcher = NULL;
	int			n = 0;

	SpinLockAcquire(&prov_shared->mutex);
	while (n < runs && n < lengthof(woken) && prov_shared->n_idle > 0)
		woken[n++] = prov_shared->idle_latches[--prov_shared->n_idle];
	if (n < runs)
		launcher = prov_shared->launcher_latch;
	SpinLockRelease(&prov_shared->mutex);
	for (int i = 0; i < n; i++)
		SetLatch(woken[i]);
	if (launcher)
		SetLatch(launcher);
}

/*
 * This run worker waits for work: committing backends may hand it a run. False when the
 * idle list is full, which only a launcher that restarted and forgot its workers allows
 * (it may start max_workers more): as many workers as max_workers can ever use wait
 * already, so this one is not needed.
 */
bool
worker_idle_begin(void)
{
	bool		room;

	SpinLockAcquire(&prov_shared->mutex);
	room = prov_shared->n_idle < lengthof(prov_shared->idle_latches);
	if (room)
		prov_shared->idle_latches[prov_shared->n_idle++] = MyLatch;
	SpinLockRelease(&prov_shared->mutex);
	return room;
}

/*
 * This run worker stops waiting; true when a committing backend took it off the idle
 * list meanwhile, that is, handed it a run to claim.
 */
bool
worker_idle_end(void)
{
	bool		handed = true;

	SpinLockAcquire(&prov_shared->mutex);
	for (int i = 0; i < prov_shared->n_idle; i++)
		if (prov_shared->idle_latches[i] == MyLatch)
		{
			memmove(&prov_shared->idle_latches[i], &prov_shared->idle_latches[i + 1],
					sizeof(Latch *) * (prov_shared->n_idle - i - 1));
			prov_shared->n_idle--;
			handed = false;
			break;
		}
	SpinLockRelease(&prov_shared->mutex);
	return handed;
}

/* Run workers waiting for work (the launcher hands them runs before it starts more). */
int
idle_workers(void)
{
	int			n;

	SpinLockAcquire(&prov_shared->mutex);
	n = prov_shared->n_idle;
	SpinLockRelease(&prov_shared->mutex);
	return n;
}

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
