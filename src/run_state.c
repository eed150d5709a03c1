/*
 * run_state.c
 *     A run's state machine, as pure functions of its steps (run_state.h).
 *
 * Every rule of a run's course lives here once: the run worker plans each step boundary
 * with run_next, and the NOTIFY trigger reports progress and the current step with
 * run_progress and run_current_step. The SQL side (_step_record, _status_doc) states the
 * same rules over the stored JSON; test/unit/run_state_test.c holds these to them.
 */
#include <stddef.h>
#include <stdint.h>

#include "run_state.h"

/* Queued or running: a tenant has at most one such run (the partial unique index). */
bool
run_status_is_active(RunStatus status)
{
	return status == RUN_PENDING || status == RUN_IN_PROGRESS;
}

bool
run_status_is_final(RunStatus status)
{
	return !run_status_is_active(status);
}

/*
 * The tenant's status while a run of operation is active, and once it ended with status;
 * before is the tenant's status when the run was queued. A provisioning run shows the tenant
 * PROVISIONING and leaves the status its end says. A lifecycle run leaves the tenant as it
 * was until it completes (there is no "suspending" status), and only a completed one changes
 * it: SUSPEND to SUSPENDED, RESUME to PROVISIONED, OFFBOARD to OFFBOARDED; VERIFY never
 * changes it. A cancelled run of either leaves it as it was.
 */
TenantStatus
tenant_status_of_run(RunStatus status, TenantStatus before, Operation operation)
{
	if (operation != OPERATION_PROVISION)
	{
		if (status != RUN_COMPLETED)
			return before;
		switch (operation)
		{
			case OPERATION_SUSPEND:
				return TENANT_SUSPENDED;
			case OPERATION_RESUME:
				return TENANT_PROVISIONED;
			case OPERATION_OFFBOARD:
				return TENANT_OFFBOARDED;
			case OPERATION_VERIFY:
			case OPERATION_PROVISION:
				break;
		}
		return before;
	}
	switch (status)
	{
		case RUN_CANCELLED:
			return before;
		case RUN_PENDING:
		case RUN_IN_PROGRESS:
			return TENANT_PROVISIONING;
		case RUN_COMPLETED:
			return TENANT_PROVISIONED;
		case RUN_PARTIAL:
			return TENANT_PARTIAL;
		case RUN_FAILED:
			return TENANT_FAILED;
		case RUN_NOT_PROVISIONED:
			break;
	}
	return TENANT_NOT_PROVISIONED;
}

/* A step that needs no more work: completed, exists or skipped. */
bool
step_is_done(StepStatus status)
{
	return status == STEP_COMPLETED || status == STEP_EXISTS || status == STEP_SKIPPED;
}

/* A critical step that failed: no step starts after it, and the run fails. */
bool
step_stops_run(const RunStep *step)
{
	return step->status == STEP_FAILED && step->critical;
}

/* Someone executes the step: the run worker, or a step worker. */
bool
step_in_flight(const RunStep *step)
{
	return step->executing || step->worker != NULL;
}

/* Is step i left to run, and has every step it depends on settled, well or not critically? */
bool
step_ready(const RunStep *steps, int i)
{
	const RunStep *s = &steps[i];

	if (step_in_flight(s) || (s->status != STEP_PENDING && s->status != STEP_RUNNING))
		return false;
	for (int j = 0; j < s->ndeps; j++)
	{
		const RunStep *d = &steps[s->deps[j]];

		if (!step_is_done(d->status) && !(d->status == STEP_FAILED && !d->critical))
			return false;
	}
	return true;
}

/*
 * Each step's weight: how many steps wait for it, directly or through others. Dependencies
 * point backwards (a step waits only for earlier ones), so one pass from the end gathers
 * every step's waiters. At most RUN_MAX_STEPS steps.
 */
void
run_weigh_steps(RunStep *steps, int nsteps)
{
	uint64_t	waiting[RUN_MAX_STEPS] = {0};	/* the steps waiting for each, as bits */

	for (int i = nsteps - 1; i >= 0; i--)
		for (int j = 0; j < steps[i].ndeps; j++)
			waiting[steps[i].deps[j]] |= waiting[i] | ((uint64_t) 1 << i);
	for (int i = 0; i < nsteps; i++)
	{
		int			n = 0;

		for (uint64_t w = waiting[i]; w != 0; w &= w - 1)
			n++;
		steps[i].weight = n;
	}
}

/*
 * The run's end once nothing is left to start or in flight: FAILED after a critical step
 * failed, NOT_PROVISIONED when that was the driver's reachability step and the engine could
 * not be reached in a provisioning run (nothing was provisioned; a lifecycle run of a
 * provisioned tenant just failed); COMPLETED when every step is done; CANCELLED when a
 * cancel left steps unstarted; else PARTIAL (a non-critical step failed). A VERIFY run has no
 * PARTIAL: it checks every step (they are not critical, so one missing document stops no
 * other check) and fails when any was not found as recorded. A cancel that stopped nothing
 * (the run had nothing left to start) leaves the run's own end. reachability_step is an
 * index, -1 for none.
 */
RunStatus
run_final_status(const RunStep *steps, int nsteps, int reachability_step, FailKind error_kind,
				 bool cancel_requested, Operation operation)
{
	bool		stopped = false;
	bool		failed = false;
	bool		all_done = true;
	bool		left = false;

	for (int i = 0; i < nsteps; i++)
	{
		stopped |= step_stops_run(&steps[i]);
		failed |= steps[i].status == STEP_FAILED;
		all_done &= step_is_done(steps[i].status);
		left |= steps[i].status == STEP_PENDING || steps[i].status == STEP_RUNNING;
	}
	if (stopped)
		return operation == OPERATION_PROVISION && reachability_step >= 0 &&
			steps[reachability_step].status == STEP_FAILED &&
			error_kind == FAIL_OFFLINE ? RUN_NOT_PROVISIONED : RUN_FAILED;
	if (all_done)
		return RUN_COMPLETED;
	if (cancel_requested && left)
		return RUN_CANCELLED;
	return operation == OPERATION_VERIFY && failed ? RUN_FAILED : RUN_PARTIAL;
}

/*
 * What starts at a step boundary, parallel steps at once at most (counting those in
 * flight). No step starts after a critical one failed. The ready steps start those most
 * steps wait for first (the critical path), then in the catalog's order; the run worker
 * executes the first (own) unless it executes one already, so that it is there to start
 * what waits for it as soon as it ends, and delegates the others. One at a time (parallel
 * 1) they keep the catalog's order: the sequential run as it always was. After a cancel was
 * requested only a resumed step starts (a request of the interrupted execution may be out:
 * executing it again learns its outcome, looking before it creates). The run ends when
 * nothing starts and nothing is in flight.
 */
void
run_next(const RunStep *steps, int nsteps, int parallel, int reachability_step,
		 FailKind error_kind, bool cancel_requested, Operation operation, RunPlan *plan)
{
	int			order[RUN_MAX_STEPS];
	int			n = 0;
	int			in_flight = 0;
	int			slots;
	bool		busy = false;
	bool		stop = false;

	for (int i = 0; i < nsteps; i++)
	{
		in_flight += step_in_flight(&steps[i]);
		busy |= steps[i].executing;
		stop |= step_stops_run(&steps[i]);
	}
	for (int i = 0; i < nsteps && !stop && i < RUN_MAX_STEPS; i++)
		if (step_ready(steps, i) && (!cancel_requested || steps[i].resumed))
		{
			int			at = n++;

			while (at > 0 && parallel > 1 && steps[order[at - 1]].weight < steps[i].weight)
			{
				order[at] = order[at - 1];
				at--;
			}
			order[at] = i;
		}
	slots = parallel - in_flight > 0 ? parallel - in_flight : 0;
	if (slots > MAX_PARALLEL_STEPS)
		slots = MAX_PARALLEL_STEPS;
	if (n > slots)
		n = slots;
	plan->own = n > 0 && !busy ? order[0] : -1;
	plan->ndelegate = 0;
	for (int i = busy ? 0 : 1; i < n; i++)
		plan->delegate[plan->ndelegate++] = order[i];
	plan->ends = n == 0 && in_flight == 0;
	plan->end = plan->ends ?
		run_final_status(steps, nsteps, reachability_step, error_kind, cancel_requested, operation) :
		RUN_IN_PROGRESS;
}

/* How many steps are done (step_is_done). */
int
run_steps_done(const StepStatus *statuses, int nsteps)
{
	int			done = 0;

	for (int i = 0; i < nsteps; i++)
		done += step_is_done(statuses[i]);
	return done;
}

/* A run's progress in percent: its done steps of all, 100 only once it completed. */
int
run_progress(int done, int total, RunStatus status)
{
	int			percent;

	if (status == RUN_COMPLETED)
		return 100;
	percent = (int) ((100 * (int64_t) done) / (total > 1 ? total : 1));
	return percent < 99 ? percent : 99;
}

/*
 * The step a reader is shown as current: of the running steps, the first in key_cmp's order
 * of their keys (the database's collation, as min() orders them in SQL). -1 when none runs.
 */
int
run_current_step(const StepStatus *statuses, const char *const *keys, int nsteps,
				 int (*key_cmp) (const char *a, const char *b))
{
	int			current = -1;

	for (int i = 0; i < nsteps; i++)
		if (statuses[i] == STEP_RUNNING && keys[i] != NULL &&
			(current < 0 || key_cmp(keys[i], keys[current]) < 0))
			current = i;
	return current;
}
