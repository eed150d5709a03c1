/*
 * locks.c
 *     The session advisory locks that make a run one run worker's, and let a run worker that
 *     takes a run over wait for the step workers of the one before.
 *
 * Session locks, not transaction ones: a worker holds them across the transactions of its
 * step boundaries and the engine calls in between, and the lock manager lets them go when
 * the process dies, which is how a later worker knows the run is free again.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "provisioning.h"

/* Distinct advisory lock spaces, apart from pg_advisory_lock()'s 1 and 2 */
#define RUN_LOCK_SPACE 0x5052
#define STEP_WORKERS_LOCK_SPACE 0x5357

static void
lock_tag(LOCKTAG *tag, const pg_uuid_t *run_id, uint16 space)
{
	uint32		k1,
				k2;

	memcpy(&k1, run_id->data, 4);
	memcpy(&k2, run_id->data + 4, 4);
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, k1, k2, space);
}

static bool
lock_try(const LOCKTAG *tag)
{
	return LockAcquire(tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/* Could the lock be taken now? Takes it and lets go at once. */
static bool
lock_available(const LOCKTAG *tag)
{
	if (!lock_try(tag))
		return false;
	LockRelease(tag, ExclusiveLock, true);
	return true;
}

/* Takes the run's session lock without waiting; false when a worker holds the run. */
bool
run_lock_try(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, RUN_LOCK_SPACE);
	return lock_try(&tag);
}

/* Does no worker hold the run? (the queue's check, which leaves the lock alone) */
bool
run_lock_available(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, RUN_LOCK_SPACE);
	return lock_available(&tag);
}

void
run_lock_release(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, RUN_LOCK_SPACE);
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * Held shared by each step worker of the run while it executes one of the run's steps
 * (nothing else takes the lock but to wait for them).
 */
void
step_workers_lock_share(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_WORKERS_LOCK_SPACE);
	(void) LockAcquire(&tag, ShareLock, true, false);
}

/* The step worker is done with the run's step: it waits idle for the next one. */
void
step_workers_lock_release(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_WORKERS_LOCK_SPACE);
	LockRelease(&tag, ShareLock, true);
}

/* Is no step worker of the run left? */
bool
step_workers_gone(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_WORKERS_LOCK_SPACE);
	return lock_available(&tag);
}

/* Waits until no step worker of the run is left (in a transaction, for the lock manager). */
void
step_workers_wait_gone(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	lock_tag(&tag, run_id, STEP_WORKERS_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	LockRelease(&tag, ExclusiveLock, true);
}
