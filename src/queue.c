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

#include "engine_limits.h"
#include "provisioning.h"

/*
 * Up to max runs (queued, or interrupted while running) into ids, that no worker holds and
 * that are not held back: an interrupted run claimed less than RELAUNCH_DELAY_MS ago (its
 * worker died at once: no tight crash loop), a run with no log row yet (a restore in
 * progress brings its log after it; a queued run always has its "run queued" row), and a
 * queued run whose engine asks to be left alone (a 429; its runs in progress wait anyway).
 *
 * Workers are shared fairly between engines (spec section 11): interrupted runs first, then
 * queued runs in turns, each engine's oldest first, an engine's turn counting the runs it
 * has in progress; and an engine gets no more runs in progress than its
 * max_concurrent_requests (what it can serve at once), nor more than the workers less one for
 * each other engine with queued runs. So one engine's backlog, slow, limited or unreachable,
 * never holds every worker while another's runs wait. *held_back says whether any run was
 * held back. Call inside a worker transaction.
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
				"WITH q AS ("
				"  SELECT o.id, o.status, o.claimed_at, o.created_at, coalesce(t.engine, '') AS engine,"
				"         row_number() OVER (PARTITION BY t.engine, o.status ORDER BY o.created_at) AS nth"
				"    FROM provisioning.tenant_onboarding o"
				"    LEFT JOIN provisioning.tenants t ON t.id = o.tenant_id"
				"   WHERE o.status IN ('PENDING', 'IN_PROGRESS')"
				"     AND EXISTS (SELECT FROM provisioning.run_log l WHERE l.run_id = o.id)),"
				" per_engine AS ("
				"  SELECT engine, count(*) FILTER (WHERE status = 'IN_PROGRESS') AS running,"
				"         bool_or(status = 'PENDING') AS queued"
				"    FROM q GROUP BY engine),"
				" turns AS ("
				"  SELECT q.*, p.running + q.nth AS turn,"
				"         least(coalesce(e.max_concurrent_requests, $2),"
				"               greatest($2 - (SELECT count(*) FROM per_engine x"
				"                               WHERE x.queued AND x.engine <> q.engine), 1)) AS share"
				"    FROM q JOIN per_engine p USING (engine)"
				"    LEFT JOIN provisioning.engines e ON e.name = q.engine)"
				"SELECT id, status = 'IN_PROGRESS'"
				"   AND claimed_at > pg_catalog.clock_timestamp() - interval '" CppAsString2(RELAUNCH_DELAY_MS) " ms',"
				"       engine, status = 'PENDING'"
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
		if (DatumGetBool(SPI_getbinval(row, desc, 2, &isnull)) ||
			(DatumGetBool(SPI_getbinval(row, desc, 4, &isnull)) && engine_paused(SPI_getvalue(row, desc, 3))))
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
