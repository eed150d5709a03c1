/*
 * engine_limits.c
 *     Each engine's capacity, kept across all run workers, step workers and health probes.
 *
 * A small shared hash, keyed by database and engine name, holds what is in flight to each
 * engine, its token bucket (requests_per_second, a burst of one second's worth) and until
 * when the engine asked to be left alone (a 429, or a 503 with Retry-After). The limits
 * themselves come with the run's description or the probe's engine row, so a request costs
 * no database round trip: only this lock. A request waits for its slot on its latch, woken
 * by a release (the condition variable) or its own timeout; that wait is neither engine
 * time nor a failed attempt.
 *
 * Each entry also counts, since server start, what provisioning.metrics shows of the
 * engine (provisioning._engine_use): the requests sent (slots taken), the engine's
 * refusals, the time it asked to be left alone (overlapping pauses counted once) and the
 * most requests in flight at once. So an entry lives as long as the server, but for one
 * case: when the hash is full, the idle entry (nothing in flight, not paused, its bucket
 * full) used least recently makes room for another engine's, and its counters start again
 * from zero (a scraper's rate() takes that for a counter reset, as after a restart). That
 * happens only past ENGINE_USE_SIZE engines used since start, across all databases.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "api.h"
#include "engine_limits.h"
#include "provisioning.h"

/* The share of requests_per_second actually sent (engine_limits_set) */
#define RATE_MARGIN 0.95

/* A waiter looks again at least this often: limits differ between processes */
#define SLOT_RECHECK_MS 1000

typedef struct EngineKey
{
	Oid			database;
	char		engine[ENGINE_NAME_LEN];
} EngineKey;

typedef struct EngineUse
{
	EngineKey	key;
	int			in_flight;
	double		tokens;			/* the bucket: what is left of the last second's worth */
	double		per_second;		/* its rate as last taken from (a full bucket may go) */
	TimestampTz refilled_at;
	TimestampTz paused_until;	/* what the engine asked for, or 0 */
	TimestampTz used_at;		/* the last slot taken or refusal: eviction's order */
	/* counters since server start (or this entry's eviction) */
	int64		requests;		/* slots taken */
	int64		refusals;		/* answers that paused the engine */
	int64		paused_us;		/* time paused, each moment once */
	int			peak_in_flight;
} EngineUse;

typedef struct EngineLimitsShared
{
	LWLock	   *lock;			/* protects the hash */
	ConditionVariable released; /* broadcast when a request ends */
} EngineLimitsShared;

static EngineLimitsShared *limits_shared = NULL;
static HTAB *engine_uses = NULL;

/* This process's slots, given back if it exits holding any (a FATAL mid-request) */
static EngineKey held[ENGINE_USE_SIZE];
static int	n_held = 0;
static bool exit_callback_set = false;

Size
engine_limits_shmem_size(void)
{
	return MAXALIGN(sizeof(EngineLimitsShared)) + hash_estimate_size(ENGINE_USE_SIZE, sizeof(EngineUse));
}

/* In the shmem startup hook, under AddinShmemInitLock; lock 1 of the "provisioning" tranche */
void
engine_limits_shmem_init(void)
{
	bool		found;
	HASHCTL		info;

	limits_shared = ShmemInitStruct("provisioning engine limits", sizeof(EngineLimitsShared), &found);
	if (!found)
	{
		limits_shared->lock = &(GetNamedLWLockTranche("provisioning"))[1].lock;
		ConditionVariableInit(&limits_shared->released);
	}
	info.keysize = sizeof(EngineKey);
	info.entrysize = sizeof(EngineUse);
	engine_uses = ShmemInitHash("provisioning engine uses", ENGINE_USE_SIZE, ENGINE_USE_SIZE,
								&info, HASH_ELEM | HASH_BLOBS);
}

void
engine_limits_set(EngineLimits *limits, const char *engine, const char *max_concurrent,
				  const char *per_second)
{
	memset(limits, 0, sizeof(EngineLimits));
	strlcpy(limits->engine, engine ? engine : "", ENGINE_NAME_LEN);
	limits->max_concurrent = max_concurrent ? atoi(max_concurrent) : 0;
	/*
	 * A little under the rate: the engine counts requests as they arrive, and the network
	 * bunches what was sent evenly, so sending at the rate itself meets its limiter now
	 * and then (a 429 pauses every run for a second).
	 */
	limits->per_second = per_second ? strtod(per_second, NULL) * RATE_MARGIN : 0;
}

static void
make_key(EngineKey *key, const EngineLimits *limits)
{
	memset(key, 0, sizeof(EngineKey));
	key->database = MyDatabaseId;
	strlcpy(key->engine, limits->engine, ENGINE_NAME_LEN);
}

/* The bucket's size: one second's worth, and at least one request */
static double
bucket_size(double per_second)
{
	return Max(per_second, 1.0);
}

static void
refill(EngineUse *e, double per_second, TimestampTz now)
{
	if (per_second > 0)
		e->tokens = Min(bucket_size(per_second),
						e->tokens + per_second * (now - e->refilled_at) / (double) USECS_PER_SEC);
	e->per_second = per_second;
	e->refilled_at = now;
}

/* An entry that, made afresh, would be the same: nothing in flight, no pause, a full bucket */
static bool
idle(EngineUse *e, TimestampTz now)
{
	double		tokens = e->tokens + e->per_second * (now - e->refilled_at) / (double) USECS_PER_SEC;

	return e->in_flight == 0 && e->paused_until <= now &&
		(e->per_second <= 0 || tokens >= bucket_size(e->per_second));
}

/*
 * Makes room in a full hash: removes the idle entry used least recently, with its counters.
 * False when every entry is busy.
 */
static bool
evict_one(TimestampTz now)
{
	HASH_SEQ_STATUS scan;
	EngineUse  *other;
	EngineUse  *oldest = NULL;

	hash_seq_init(&scan, engine_uses);
	while ((other = hash_seq_search(&scan)) != NULL)
		if (idle(other, now) && (oldest == NULL || other->used_at < oldest->used_at))
			oldest = other;
	if (oldest == NULL)
		return false;
	hash_search(engine_uses, &oldest->key, HASH_REMOVE, NULL);
	return true;
}

/* The engine's entry, made if need be (under the lock, exclusive); NULL when the hash is full */
static EngineUse *
use_of(const EngineLimits *limits, TimestampTz now)
{
	EngineKey	key;
	EngineUse  *e;
	bool		found;

	make_key(&key, limits);
	e = hash_search(engine_uses, &key, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	if (hash_get_num_entries(engine_uses) >= ENGINE_USE_SIZE && !evict_one(now))
		return NULL;
	e = hash_search(engine_uses, &key, HASH_ENTER, &found);
	*e = (EngineUse) {
		.key = key,
		.tokens = bucket_size(limits->per_second),
		.per_second = limits->per_second,
		.refilled_at = now,
		.used_at = now,
	};
	return e;
}

/*
 * Takes a slot and a token when the engine has both and no pause; 0 when taken, else how
 * long (ms) to wait before trying again.
 */
static long
try_take(const EngineLimits *limits, TimestampTz now)
{
	EngineUse  *e = use_of(limits, now);

	if (e == NULL)
		return SLOT_RECHECK_MS;
	if (e->paused_until > now)
		return Max(TimestampDifferenceMilliseconds(now, e->paused_until), 1);
	if (limits->max_concurrent > 0 && e->in_flight >= limits->max_concurrent)
		return SLOT_RECHECK_MS;
	refill(e, limits->per_second, now);
	if (limits->per_second > 0)
	{
		if (e->tokens < 1.0)
			return Max((long) ceil((1.0 - e->tokens) * 1000.0 / limits->per_second), 1);
		e->tokens -= 1.0;
	}
	e->in_flight++;
	e->peak_in_flight = Max(e->peak_in_flight, e->in_flight);
	e->requests++;
	e->used_at = now;
	return 0;
}

static void
release_all_held(int code, Datum arg)
{
	while (n_held > 0)
	{
		EngineLimits limits = {0};

		strlcpy(limits.engine, held[n_held - 1].engine, ENGINE_NAME_LEN);
		engine_slot_release(&limits);
	}
}

/*
 * Waits for a slot of the engine (its pause over, a request in flight fewer than its cap,
 * a token in its bucket) and takes it; false when deadline (0: none) came first. The wait
 * is on the latch: interrupts and postmaster death are served, and a run worker takes its
 * step workers' reports meanwhile (worker_wait).
 */
bool
engine_slot_acquire(const EngineLimits *limits, TimestampTz deadline)
{
	if (limits->engine[0] == '\0')
		return true;
	if (!exit_callback_set)
	{
		before_shmem_exit(release_all_held, (Datum) 0);
		exit_callback_set = true;
	}
	if (n_held >= ENGINE_USE_SIZE)
		elog(ERROR, "a process holds %d engine request slots", n_held);
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		wait_ms;

		/* on the list before looking, so that a release in between still wakes it */
		ConditionVariablePrepareToSleep(&limits_shared->released);
		LWLockAcquire(limits_shared->lock, LW_EXCLUSIVE);
		wait_ms = try_take(limits, now);
		LWLockRelease(limits_shared->lock);
		if (wait_ms == 0)
			break;
		if (deadline != 0)
		{
			if (now >= deadline)
			{
				ConditionVariableCancelSleep();
				return false;
			}
			wait_ms = Min(wait_ms, TimestampDifferenceMilliseconds(now, deadline) + 1);
		}
		worker_wait(Min(wait_ms, SLOT_RECHECK_MS));
	}
	ConditionVariableCancelSleep();
	make_key(&held[n_held++], limits);
	return true;
}

void
engine_slot_release(const EngineLimits *limits)
{
	EngineKey	key;
	EngineUse  *e;

	if (limits->engine[0] == '\0')
		return;
	make_key(&key, limits);
	for (int i = n_held - 1; i >= 0; i--)
		if (memcmp(&held[i], &key, sizeof(EngineKey)) == 0)
		{
			held[i] = held[--n_held];
			break;
		}
	LWLockAcquire(limits_shared->lock, LW_EXCLUSIVE);
	e = hash_search(engine_uses, &key, HASH_FIND, NULL);
	if (e != NULL && e->in_flight > 0)
		e->in_flight--;
	LWLockRelease(limits_shared->lock);
	ConditionVariableBroadcast(&limits_shared->released);
}

/*
 * The engine refused a request and asked to be left alone for ms: no process sends it a
 * request until then. Only the part of the pause that lies beyond the one already granted
 * counts as time paused.
 */
void
engine_refused(const EngineLimits *limits, long ms)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz until = TimestampTzPlusMilliseconds(now, ms);
	EngineUse  *e;

	if (limits->engine[0] == '\0')
		return;
	LWLockAcquire(limits_shared->lock, LW_EXCLUSIVE);
	e = use_of(limits, now);
	if (e != NULL)
	{
		e->refusals++;
		e->used_at = now;
		if (until > e->paused_until)
		{
			e->paused_us += until - Max(e->paused_until, now);
			e->paused_until = until;
		}
	}
	LWLockRelease(limits_shared->lock);
}

/* Is the engine asking to be left alone now? The dispatch and the status document ask. */
bool
engine_paused(const char *engine)
{
	EngineKey	key;
	EngineUse  *e;
	bool		paused = false;

	memset(&key, 0, sizeof(EngineKey));
	key.database = MyDatabaseId;
	strlcpy(key.engine, engine, ENGINE_NAME_LEN);
	LWLockAcquire(limits_shared->lock, LW_SHARED);
	e = hash_search(engine_uses, &key, HASH_FIND, NULL);
	if (e != NULL)
		paused = e->paused_until > GetCurrentTimestamp();
	LWLockRelease(limits_shared->lock);
	return paused;
}

PG_FUNCTION_INFO_V1(provisioning_engine_use);

/*
 * provisioning._engine_use(): this database's engines as the shared hash has them, one row
 * each (engine, requests, throttled, paused_ms, peak_in_flight, in_flight, paused_until:
 * NULL when not paused). Copied under the lock, returned after it.
 */
Datum
provisioning_engine_use(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	EngineUse  *copies = palloc(sizeof(EngineUse) * ENGINE_USE_SIZE);
	int			n = 0;
	HASH_SEQ_STATUS scan;
	EngineUse  *e;

	InitMaterializedSRF(fcinfo, 0);
	/* without the preloaded library nothing is kept, nor sent */
	if (limits_shared == NULL)
		return (Datum) 0;
	LWLockAcquire(limits_shared->lock, LW_SHARED);
	hash_seq_init(&scan, engine_uses);
	while ((e = hash_seq_search(&scan)) != NULL)
		if (e->key.database == MyDatabaseId)
			copies[n++] = *e;
	LWLockRelease(limits_shared->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		e = &copies[i];
		values[0] = CStringGetTextDatum(e->key.engine);
		values[1] = Int64GetDatum(e->requests);
		values[2] = Int64GetDatum(e->refusals);
		values[3] = Int64GetDatum(e->paused_us / 1000);
		values[4] = Int32GetDatum(e->peak_in_flight);
		values[5] = Int32GetDatum(e->in_flight);
		values[6] = TimestampTzGetDatum(e->paused_until);
		nulls[6] = e->paused_until <= now;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
