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
extern void run_refresh(RunContext *ctx, int skip);
extern void run_record(RunContext *ctx, int step, const char *status, int attempts,
					   const char *message, double duration_ms, int next,
					   const RunStatus *run_status, FailKind kind);
extern void run_record_step(RunContext *ctx, int step, const char *status, int attempts,
							const char *message, double duration_ms, FailKind kind);
extern void unsettled_create_store(RunContext *ctx, const char *target);
extern void run_forget(RunContext *ctx);

/* The run's metadata as steps leave it (step_context.c) */
extern void meta_merge(RunContext *ctx, const char *key, const char *value);

/* One step with its retries (step_exec.c): its duration in ms */
extern double execute_step(RunContext *ctx, int idx, StepResult *result);

/* Step workers (step_worker.c) */
extern bool step_worker_start(RunContext *ctx, int idx);
extern void step_workers_wait(RunContext *ctx);
extern bool step_workers_note_exits(RunContext *ctx);

#endif							/* PROVISIONING_RUN_H */
