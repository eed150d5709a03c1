/*
 * health.h
 *     The per-engine cache behind engine_health().
 */
#ifndef PROVISIONING_HEALTH_H
#define PROVISIONING_HEALTH_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "engine_limits.h"

#define HEALTH_CACHE_SIZE 1024

/*
 * An answer is about what was probed: the engine's row as it was (kind, base_url,
 * credentials, options), folded into a fingerprint, so a changed engine is probed afresh.
 */
typedef struct HealthKey
{
	Oid			database;
	char		engine[ENGINE_NAME_LEN];
	uint64		fingerprint;
} HealthKey;

typedef struct HealthEntry
{
	HealthKey	key;
	char		status[16];		/* online, offline, unauthorized */
	double		latency_ms;
	TimestampTz checked_at;
	char		error[256];		/* empty when none */
} HealthEntry;

extern void engine_probe(const char *engine);

#endif							/* PROVISIONING_HEALTH_H */
