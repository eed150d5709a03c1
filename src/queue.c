/*
 * queue.c
 *     The run queue, shared by the launcher and the run workers: which runs are runnable,
 *     and the wake-up of whoever starts the runs a transaction queued.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "provisioning.h"

/*
 * The active runs, each with its turn for a worker and its engine's share of them (spec
 * section 11): a queued run's turn is its engine's runs in progress plus its place in its
 * engine's queue, oldest first; an engine's share is its max_concurrent_requests (what it
 * can serve at once) and at most the workers ($2) less one for each other engine with runs
 * queued. A queued run of an engine that asks to be left alone (a 429) is paused. So one
 * engine's backlog, slow, limited or unreachable, never holds every worker while another's
 * runs wait. A run without a log row is no run yet: a restore in progress brings its log
 * after it (a queued run always has its "run queued" row).
 */
#define QUEUE_TURNS \
	"WITH q AS (" \
	"  SELECT o.id, o.status, o.claimed_at, o.created_at, coalesce(t.engine, '') AS engine," \
	"         row_number() OVER (PARTITION BY t.engine, o.status ORDER BY o.created_at) AS nth" \
	"    FROM provisioning.tenant_onboarding o" \
	"    LEFT JOIN provisioning.tenants t ON t.id = o.tenant_id" \
	"   WHERE o.status IN ('PENDING', 'IN_PROGRESS')" \
	"     AND EXISTS (SELECT FROM provisioning.run_log l WHERE l.run_id = o.id))," \
	" per_engine AS (" \
	"  SELECT engine, count(*) FILTER (WHERE status = 'IN_PROGRESS') AS running," \
	"         bool_or(status = 'PENDING') AS queued" \
	"    FROM q GROUP BY engine)," \
	" turns AS (" \
	"  SELECT q.*, p.running + q.nth AS turn," \
	"         least(coalesce(e.max_concurrent_requests, $2)," \
	"               greatest($2 - (SELECT count(*) FROM per_engine x" \
	"                               WHERE x.queued AND x.engine <> q.engine), 1)) AS share," \
	"         q.status = 'PENDING' AND provisioning._engine_paused(q.engine) AS paused" \
	"    FROM q JOIN per_engine p USING (engine)" \
	"    LEFT JOIN provisioning.engines e ON e.name = q.engine) "

/*
 * Up to max runs (queued, or interrupted while running) into ids, interrupted ones first,
 * then queued ones by their turns (QUEUE_TURNS), that no worker holds and that are not held
 * back: an interrupted run claimed less than RELAUNCH_DELAY_MS ago (its worker died at once:
 * no tight crash loop), a queued run past its engine's share or paused by its engine.
 * *held_back says whether a run was held back for a moment (a claim's delay, a pause). Call
 * inside a worker transaction.
 */
int
runnable_runs(pg_uuid_t *ids, int max, bool *held_back)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max), Int32GetDatum(prov_max_workers)};
	int			n = 0;

	if (max <= 0 || !extension_ready())
		return 0;
	/* planned once per process: a woken worker's first request waits for this */
	worker_plan(&plan, "the provisioning queue's query",
				QUEUE_TURNS
				"SELECT id, paused OR (status = 'IN_PROGRESS'"
				"   AND claimed_at > pg_catalog.clock_timestamp() - interval '" CppAsString2(RELAUNCH_DELAY_MS) " ms')"
				"  FROM turns"
				" WHERE status = 'IN_PROGRESS' OR turn <= share"
				" ORDER BY status = 'PENDING', CASE WHEN status = 'PENDING' THEN turn END, created_at"
				" LIMIT $1", 2, types);
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the provisioning queue");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		pg_uuid_t  *id = DatumGetUUIDP(SPI_getbinval(row, desc, 1, &isnull));

		if (!run_lock_available(id))
			continue;			/* a worker has it */
		if (DatumGetBool(SPI_getbinval(row, desc, 2, &isnull)))
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
