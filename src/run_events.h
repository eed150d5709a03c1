/*
 * run_events.h
 *     A run's story in the server log, one key=value line per event, and the run worker's
 *     pg_stat_activity text.
 */
#ifndef PROVISIONING_RUN_EVENTS_H
#define PROVISIONING_RUN_EVENTS_H

#include "postgres.h"

#include "utils/guc.h"

#include "run.h"

/* provisioning.log_level: the level of every event line */
extern int	prov_log_level;
extern const struct config_enum_entry run_event_log_levels[];

/* Events, in the order a run has them; call each after its outcome is committed. */
extern void run_event_run_started(RunContext *ctx, bool resumed);
extern void run_event_step_started(RunContext *ctx, int idx);
extern void run_event_retry(RunContext *ctx, int idx, const StepResult *result, long wait_ms);
extern void run_event_step_finished(RunContext *ctx, int idx, const StepResult *result,
									double duration_ms);
extern void run_event_run_finished(RunContext *ctx, RunStatus status);

/* pg_stat_activity: the tenant, run and step this worker is on */
extern void run_event_activity(RunContext *ctx, int idx);
extern void run_event_waiting(RunContext *ctx);

#endif							/* PROVISIONING_RUN_EVENTS_H */
