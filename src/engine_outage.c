/*
 * engine_outage.c
 *     Engines known to be unreachable (spec section 11, outages), shared by every process.
 *
 * A request that could not reach its engine opens an outage (since when); any answer of
 * the engine, to a request or a probe, ends it. While it is open, a new run's first step
 * sends nothing (step_exec.c), a run past its first step waits here, and the engine is
 * probed at most every provisioning.engine_probe_interval: a waiting run's attempt or the
 * launcher's probe takes the turn. An ended outage stays until the launcher has queued
 * again the runs it turned away (launcher.c); the launcher also keeps each outage in
 * provisioning.engine_outages, so one that outlives a restart is restored from there.
 * Nothing is kept for engines that answer: a request costs one atomic read then.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "engine_outage.h"
#include "provisioning.h"

/* A waiting run looks again at least this often: the settings may differ between processes */
#define OUTAGE_RECHECK_MS 1000

int			prov_engine_probe_interval_ms = 5000;
int			prov_engine_outage_wait_ms = 300000;

typedef struct OutageKey
{
	Oid			database;
	char		engine[ENGINE_NAME_LEN];
} OutageKey;

typedef struct OutageEntry
{
	OutageKey	key;
	EngineOutage state;
} OutageEntry;

typedef struct OutageShared
{
	LWLock	   *lock;			/* protects the hash */
	pg_atomic_uint32 entries;	/* 0: no engine is down, nothing to look up */
	ConditionVariable changed;	/* broadcast when an outage ends or a probe turn passes */
} OutageShared;

static OutageShared *outage_shared = NULL;
static HTAB *outages = NULL;

Size
engine_outage_shmem_size(void)
{
	return MAXALIGN(sizeof(OutageShared)) + hash_estimate_size(ENGINE_OUTAGE_SIZE, sizeof(OutageEntry));
}

/* In the shmem startup hook, under AddinShmemInitLock; lock 2 of the "provisioning" tranche */
void
engine_outage_shmem_init(void)
{
	bool		found;
	HASHCTL		info;

	outage_shared = ShmemInitStruct("provisioning engine outages", sizeof(OutageShared), &found);
	if (!found)
	{
		outage_shared->lock = &(GetNamedLWLockTranche("provisioning"))[2].lock;
		pg_atomic_init_u32(&outage_shared->entries, 0);
		ConditionVariableInit(&outage_shared->changed);
	}
	info.keysize = sizeof(OutageKey);
	info.entrysize = sizeof(OutageEntry);
	outages = ShmemInitHash("provisioning engine outage hash", ENGINE_OUTAGE_SIZE, ENGINE_OUTAGE_SIZE,
							&info, HASH_ELEM | HASH_BLOBS);
}

static void
make_key(OutageKey *key, const char *engine)
{
	memset(key, 0, sizeof(OutageKey));
	key->database = MyDatabaseId;
	strlcpy(key->engine, engine, ENGINE_NAME_LEN);
}

/* The engine's entry, under the lock; made when create (exclusive lock), NULL when full */
static OutageEntry *
entry_of(const char *engine, bool create)
{
	OutageKey	key;
	OutageEntry *e;
	bool		found;

	make_key(&key, engine);
	if (!create || hash_get_num_entries(outages) >= ENGINE_OUTAGE_SIZE)
		return hash_search(outages, &key, HASH_FIND, NULL);
	e = hash_search(outages, &key, HASH_ENTER, &found);
	if (!found)
	{
		memset(&e->state, 0, sizeof(EngineOutage));
		strlcpy(e->state.engine, engine, ENGINE_NAME_LEN);
		pg_atomic_fetch_add_u32(&outage_shared->entries, 1);
	}
	return e;
}

static void
remove_entry(OutageEntry *e)
{
	hash_search(outages, &e->key, HASH_REMOVE, NULL);
	pg_atomic_fetch_sub_u32(&outage_shared->entries, 1);
}

static void
wake_launcher(void)
{
	Latch	   *latch;

	SpinLockAcquire(&prov_shared->mutex);
	latch = prov_shared->launcher_latch;
	SpinLockRelease(&prov_shared->mutex);
	if (latch)
		SetLatch(latch);
}

static void
open_outage(OutageEntry *e, TimestampTz since, TimestampTz next_probe, bool recorded)
{
	e->state.since = since;
	e->state.next_probe = next_probe;
	e->state.recorded = recorded;
}

/*
 * What a request told of its engine: it could not be reached (an outage opens, if none is),
 * or it answered (an open outage ends: the runs waiting go on, the launcher queues again
 * the ones it turned away).
 */
void
engine_outage_note(const char *engine, bool unreachable)
{
	OutageEntry *e;
	bool		changed = false;

	if (engine[0] == '\0' || (!unreachable && pg_atomic_read_u32(&outage_shared->entries) == 0))
		return;
	LWLockAcquire(outage_shared->lock, LW_EXCLUSIVE);
	e = entry_of(engine, unreachable);
	if (e != NULL && unreachable && e->state.since == 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		open_outage(e, now, TimestampTzPlusMilliseconds(now, prov_engine_probe_interval_ms), false);
		changed = true;
	}
	else if (e != NULL && !unreachable && e->state.since != 0)
	{
		e->state.ended = e->state.since;
		e->state.since = 0;
		changed = true;
	}
	LWLockRelease(outage_shared->lock);
	if (changed)
	{
		ConditionVariableBroadcast(&outage_shared->changed);
		wake_launcher();
	}
}

/* Is the engine known to be unreachable, and since when? */
bool
engine_offline_since(const char *engine, TimestampTz *since)
{
	OutageEntry *e;

	*since = 0;
	if (engine[0] == '\0' || pg_atomic_read_u32(&outage_shared->entries) == 0)
		return false;
	LWLockAcquire(outage_shared->lock, LW_SHARED);
	e = entry_of(engine, false);
	if (e != NULL)
		*since = e->state.since;
	LWLockRelease(outage_shared->lock);
	return *since != 0;
}

/*
 * May a request go to the engine now? Yes when it is not known to be down, or when the
 * probe is due: this caller's request is then the probe, and the next is due an interval
 * later.
 */
bool
engine_probe_turn(const char *engine)
{
	OutageEntry *e;
	bool		turn = true;

	if (engine[0] == '\0' || pg_atomic_read_u32(&outage_shared->entries) == 0)
		return true;
	LWLockAcquire(outage_shared->lock, LW_EXCLUSIVE);
	e = entry_of(engine, false);
	if (e != NULL && e->state.since != 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		turn = now >= e->state.next_probe;
		if (turn)
			e->state.next_probe = TimestampTzPlusMilliseconds(now, prov_engine_probe_interval_ms);
	}
	LWLockRelease(outage_shared->lock);
	return turn;
}

/*
 * Waits until a request may go to the engine (engine_probe_turn); false when the deadline
 * came first. The wait is on the latch: interrupts and postmaster death are served, and a
 * run worker takes its step workers' reports meanwhile (worker_wait).
 */
bool
engine_outage_wait(const char *engine, TimestampTz deadline)
{
	bool		turn;

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();

		ConditionVariablePrepareToSleep(&outage_shared->changed);
		turn = engine_probe_turn(engine);
		if (turn || now >= deadline)
			break;
		worker_wait(Min(OUTAGE_RECHECK_MS, TimestampDifferenceMilliseconds(now, deadline) + 1));
	}
	ConditionVariableCancelSleep();
	return turn;
}

/* This database's outages, open or ended and not yet requeued: at most max, into out. */
int
engine_outages(EngineOutage *out, int max)
{
	HASH_SEQ_STATUS scan;
	OutageEntry *e;
	int			n = 0;

	if (pg_atomic_read_u32(&outage_shared->entries) == 0)
		return 0;
	LWLockAcquire(outage_shared->lock, LW_SHARED);
	hash_seq_init(&scan, outages);
	while ((e = hash_seq_search(&scan)) != NULL)
		if (e->key.database == MyDatabaseId && n < max)
			out[n++] = e->state;
	LWLockRelease(outage_shared->lock);
	return n;
}

/* An outage provisioning.engine_outages still holds open (a restart forgot it): probed at once. */
void
engine_outage_restore(const char *engine, TimestampTz since)
{
	OutageEntry *e;

	LWLockAcquire(outage_shared->lock, LW_EXCLUSIVE);
	e = entry_of(engine, true);
	if (e != NULL && e->state.since == 0)
		open_outage(e, since, GetCurrentTimestamp(), true);
	LWLockRelease(outage_shared->lock);
}

/*
 * The launcher committed what it saw of an outage (as engine_outages gave it): the row of
 * the open one is written (the runs it turns away will be queued again), the runs of the
 * ended one are queued again.
 */
void
engine_outage_settled(const EngineOutage *seen)
{
	OutageEntry *e;

	LWLockAcquire(outage_shared->lock, LW_EXCLUSIVE);
	e = entry_of(seen->engine, false);
	if (e != NULL && seen->since != 0 && e->state.since == seen->since)
		e->state.recorded = true;
	if (e != NULL && seen->ended != 0 && e->state.ended == seen->ended)
	{
		e->state.ended = 0;
		if (e->state.since == 0)
			remove_entry(e);
	}
	LWLockRelease(outage_shared->lock);
}
