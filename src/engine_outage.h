/*
 * engine_outage.h
 *     Engines known to be unreachable, since when, and whose turn it is to probe them
 *     (spec section 11, outages).
 */
#ifndef PROVISIONING_ENGINE_OUTAGE_H
#define PROVISIONING_ENGINE_OUTAGE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "engine_limits.h"

#define ENGINE_OUTAGE_SIZE 256	/* outages kept at once, open or awaiting the launcher */

extern int	prov_engine_probe_interval_ms;
extern int	prov_engine_outage_wait_ms;

/* An outage as the launcher sees it: one of this database's engines */
typedef struct EngineOutage
{
	char		engine[ENGINE_NAME_LEN];
	TimestampTz since;			/* 0: it answers again */
	TimestampTz next_probe;
	bool		recorded;		/* provisioning.engine_outages has its row */
	TimestampTz ended;			/* the since of an outage that ended, not yet requeued; or 0 */
} EngineOutage;

/* engine: engines.name; "" (a request of no engine's) is never offline */
extern void engine_outage_note(const char *engine, bool unreachable);
extern bool engine_offline_since(const char *engine, TimestampTz *since);
extern bool engine_probe_turn(const char *engine);
extern bool engine_outage_wait(const char *engine, TimestampTz deadline);

/* the launcher's */
extern int	engine_outages(EngineOutage *out, int max);
extern void engine_outage_restore(const char *engine, TimestampTz since);
extern void engine_outage_settled(const EngineOutage *seen);

extern Size engine_outage_shmem_size(void);
extern void engine_outage_shmem_init(void);

#endif							/* PROVISIONING_ENGINE_OUTAGE_H */
