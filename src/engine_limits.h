/*
 * engine_limits.h
 *     An engine's capacity, kept by every process that sends it requests (spec section 11).
 */
#ifndef PROVISIONING_ENGINE_LIMITS_H
#define PROVISIONING_ENGINE_LIMITS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#define ENGINE_NAME_LEN 64		/* engines.name is at most 63 bytes */
#define ENGINE_USE_SIZE 1024	/* engines accounted at once */

/* The limits a process applies to its requests to one engine, as its engines row says. */
typedef struct EngineLimits
{
	char		engine[ENGINE_NAME_LEN];	/* empty: not an engine's requests, none kept */
	int			max_concurrent; /* 0: no cap */
	double		per_second;		/* 0: no rate limit */
} EngineLimits;

/* max_concurrent and per_second as SQL gives them: NULL for none */
extern void engine_limits_set(EngineLimits *limits, const char *engine,
							  const char *max_concurrent, const char *per_second);
extern bool engine_slot_acquire(const EngineLimits *limits, TimestampTz deadline);
extern void engine_slot_release(const EngineLimits *limits);
extern void engine_refused(const EngineLimits *limits, long ms);
extern bool engine_paused(const char *engine);

extern Size engine_limits_shmem_size(void);
extern void engine_limits_shmem_init(void);

#endif							/* PROVISIONING_ENGINE_LIMITS_H */
