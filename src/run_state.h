/*
 * run_state.h
 *     A run's state machine, as pure functions of its steps: which steps are ready, which
 *     start next, how the run ends, the tenant's status it leaves, and the progress a reader
 *     sees. No SPI, no shared memory, no I/O, no PostgreSQL header: test/unit/run_state_test.c
 *     links run_state.c alone, without a server.
 */
#ifndef PROVISIONING_RUN_STATE_H
#define PROVISIONING_RUN_STATE_H

#include <stdbool.h>

#include "status.h"

#define RUN_MAX_STEPS 64		/* the dependency graph is a bit set per step */
#define MAX_PARALLEL_STEPS 16	/* provisioning.max_parallel_steps' upper bound */

/* One entry of the run's step list */
typedef struct RunStep
{
	char	   *key;
	StepStatus	status;
	bool		critical;
	int			attempts;
	char	   *message;		/* why it failed, for a failed step */
	int		   *deps;			/* the steps it waits for (indexes, all before it) */
	int			ndeps;
	int			weight;			/* how many steps wait for it, directly or not */
	bool		resumed;		/* left running by an interrupted execution */

	/* the run worker's bookkeeping (run_worker.c, step_worker.c) */
	bool		started;		/* its start is recorded and nobody executes it yet */
	bool		executing;		/* the run worker executes it */
	struct StepWorker *worker;	/* the step worker executing it, or NULL */
} RunStep;

/*
 * What the run worker does next, decided at each step boundary (run_next): the step it
 * executes itself, and the steps it starts step workers for, whose outcomes it records as
 * they report them (also while its own step's requests are out).
 */
typedef struct RunPlan
{
	int			own;			/* the step it executes itself, or -1 */
	int			delegate[MAX_PARALLEL_STEPS];	/* steps it starts step workers for */
	int			ndelegate;
	bool		ends;			/* every step settled: the run's end is recorded */
	RunStatus	end;
} RunPlan;

/* Statuses */
extern bool run_status_is_active(RunStatus status);
extern bool run_status_is_final(RunStatus status);
extern TenantStatus tenant_status_of_run(RunStatus status, TenantStatus before, Operation operation);
extern bool step_is_done(StepStatus status);

/* Steps */
extern bool step_stops_run(const RunStep *step);
extern bool step_in_flight(const RunStep *step);
extern bool step_ready(const RunStep *steps, int i);
extern void run_weigh_steps(RunStep *steps, int nsteps);

/* The run's course */
extern void run_next(const RunStep *steps, int nsteps, int parallel, int reachability_step,
					 FailKind error_kind, bool cancel_requested, Operation operation, RunPlan *plan);
extern RunStatus run_final_status(const RunStep *steps, int nsteps, int reachability_step,
								  FailKind error_kind, bool cancel_requested, Operation operation);

/* What a reader sees */
extern int	run_steps_done(const StepStatus *statuses, int nsteps);
extern int	run_progress(int done, int total, RunStatus status);
extern int	run_current_step(const StepStatus *statuses, const char *const *keys, int nsteps,
							 int (*key_cmp) (const char *a, const char *b));

#endif							/* PROVISIONING_RUN_STATE_H */
