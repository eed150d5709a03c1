/*
 * worker_pool.c
 *     The run workers as a pool, in shared memory: how many live (provisioning.max_workers
 *     bounds them), and which wait idle for a run (their latches, which a committing backend
 *     or the launcher sets to hand them one).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"

#include "provisioning.h"

static bool counted_live = false;

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

static void
worker_pool_detach(int code, Datum arg)
{
	(void) worker_idle_end();
	if (counted_live)
		pg_atomic_fetch_sub_u32(&prov_shared->live_workers, 1);
	counted_live = false;
}

/* This process is a run worker: it counts as live until it leaves (or dies). */
void
worker_pool_join(void)
{
	pg_atomic_fetch_add_u32(&prov_shared->live_workers, 1);
	counted_live = true;
	before_shmem_exit(worker_pool_detach, 0);
}

/*
 * After provisioning.max_workers was lowered, the workers above it leave as they finish
 * a run; the launcher starts new ones only below it. True when this one is to leave: it
 * no longer counts.
 */
bool
worker_pool_surplus(void)
{
	uint32		live = pg_atomic_read_u32(&prov_shared->live_workers);

	if (live <= (uint32) prov_max_workers)
		return false;
	/* leave, unless another surplus worker left meanwhile */
	if (!pg_atomic_compare_exchange_u32(&prov_shared->live_workers, &live, live - 1))
		return false;
	counted_live = false;
	return true;
}
