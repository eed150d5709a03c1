/*
 * run.h
 *     What the files executing a run share among themselves (drivers see driver.h only):
 *     run_store.c, step_exec.c, step_worker.c, step_context.c and run_worker.c.
 */
#ifndef PROVISIONING_RUN_H
#define PROVISIONING_RUN_H

#include "postgres.h"

#include "driver.h"

/* A run's SQL I/O (run_store.c); NULL when the run finished or was cancelled meanwhile */
extern RunContext *run_begin(MemoryContext parent, const pg_uuid_t *run_id);
extern RunContext *run_describe(MemoryContext parent, const pg_uuid_t *run_id);
extern void run_record(RunContext *ctx, int step, const char *status, int attempts,
					   const char *message, double duration_ms, int next,
					   const RunStatus *run_status, FailKind kind);
extern void run_record_retry(RunContext *ctx, int step, int attempts, const char *message);
extern void unsettled_create_store(RunContext *ctx, const char *target);
extern void run_forget(RunContext *ctx);

/* One step with its retries (step_exec.c): its duration in ms */
extern double execute_step(RunContext *ctx, int idx, StepResult *result);

/* A step worker's outcome of its step, as its run worker takes it in */
typedef struct StepReport
{
	StepResult	result;
	double		duration_ms;
} StepReport;

/* Step workers (step_worker.c) */
extern bool step_worker_start(RunContext *ctx, int idx);
extern int	step_workers_wait(RunContext *ctx, StepReport *report);
extern void step_workers_stop(int code, Datum arg);
extern void step_workers_release(RunContext *ctx);
extern void step_worker_report_retry(RunContext *ctx, int idx, const char *message);

#endif							/* PROVISIONING_RUN_H */
