/*
 * run_state_test.c
 *     The run's state machine (src/run_state.c) without a server: readiness, the order in
 *     which ready steps start, the run's final status, the tenant's status, progress and the
 *     current step. Prints TAP and a closing "N passed, N failed"; exits 1 on any failure.
 *     Built and run by test/run.sh (make test/unit/run_state_test).
 */
#include <stdio.h>
#include <string.h>

#include "run_state.h"

static int	passed = 0;
static int	failed = 0;

static void
check(int ok, const char *what)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", passed + failed + 1, what);
	if (ok)
		passed++;
	else
		failed++;
}

static void
check_int(int got, int want, const char *what)
{
	check(got == want, what);
	if (got != want)
		printf("#   got %d, want %d\n", got, want);
}

/* ERPNext's catalog: step i waits for the steps in deps[i] (depends_on) */
#define NSTEPS 10
static int	deps[NSTEPS][4] = {
	{0}, {0}, {0}, {2}, {2}, {4}, {4}, {0}, {0, 3, 4, 7}, {8}
};
static int	ndeps[NSTEPS] = {0, 1, 1, 1, 1, 1, 1, 1, 4, 1};
static char *keys[NSTEPS] = {
	"step_0_engine_check", "step_1_fiscal_year", "step_2_company", "step_3_chart_of_accounts",
	"step_4_warehouses", "step_5_settings", "step_6_items", "step_7_customer",
	"step_8_pos_profile", "step_9_pos_session"
};
static int	fake_worker;		/* a step worker's handle: only ever compared with NULL */

/* A fresh run: every step pending and critical, as the catalog says, weighed */
static void
fresh_run(RunStep *steps)
{
	memset(steps, 0, sizeof(RunStep) * NSTEPS);
	for (int i = 0; i < NSTEPS; i++)
	{
		steps[i].key = keys[i];
		steps[i].status = STEP_PENDING;
		steps[i].critical = true;
		steps[i].deps = deps[i];
		steps[i].ndeps = ndeps[i];
	}
	run_weigh_steps(steps, NSTEPS);
}

static void
set_done(RunStep *steps, int upto)
{
	for (int i = 0; i < upto; i++)
		steps[i].status = STEP_COMPLETED;
}

static void
test_weights_and_readiness(void)
{
	RunStep		steps[NSTEPS];

	fresh_run(steps);
	check_int(steps[0].weight, 9, "every step waits for the engine check");
	check_int(steps[2].weight, 6, "the company: chart, warehouses, settings, items, profile, session");
	check_int(steps[4].weight, 4, "the warehouses: settings, items, profile, session");
	check_int(steps[7].weight, 2, "the customer: profile, session");
	check_int(steps[9].weight, 0, "nothing waits for the session");

	check(step_ready(steps, 0), "a step without dependencies is ready");
	check(!step_ready(steps, 1), "a step waiting for a pending one is not ready");
	steps[0].status = STEP_RUNNING;
	check(step_ready(steps, 0), "a running step (a resume) is ready to be executed again");
	check(!step_ready(steps, 1), "a step waiting for a running one is not ready");
	steps[0].status = STEP_EXISTS;
	check(step_ready(steps, 1) && step_ready(steps, 2) && step_ready(steps, 7),
		  "a step found in the engine lets its dependents start");
	check(!step_ready(steps, 0), "a done step is not ready again");
	steps[2].worker = (struct StepWorker *) &fake_worker;
	check(!step_ready(steps, 2), "a step a step worker executes is not ready");
	steps[2].worker = NULL;

	steps[2].status = STEP_FAILED;
	check(!step_ready(steps, 3), "a critical step that failed holds its dependents");
	steps[2].critical = false;
	check(step_ready(steps, 3), "a non-critical step that failed lets its dependents start");
	steps[1].status = STEP_SKIPPED;
	check(step_is_done(STEP_SKIPPED) && step_is_done(STEP_EXISTS) && step_is_done(STEP_COMPLETED) &&
		  !step_is_done(STEP_FAILED) && !step_is_done(STEP_RUNNING) && !step_is_done(STEP_PENDING),
		  "done: completed, exists, skipped");
}

static void
test_next_steps(void)
{
	RunStep		steps[NSTEPS];
	RunPlan		plan;

	fresh_run(steps);
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == 0 && plan.ndelegate == 0 && !plan.ends, "a run begins with its engine check alone");

	set_done(steps, 1);
	run_next(steps, NSTEPS, 1, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == 1 && plan.ndelegate == 0, "one at a time: the catalog's order");

	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == 2 && plan.ndelegate == 2 && plan.delegate[0] == 7 && plan.delegate[1] == 1,
		  "at once: the most waited-for first (company 6, customer 2, fiscal year 0), the first the run worker's");

	run_next(steps, NSTEPS, 2, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == 2 && plan.ndelegate == 1 && plan.delegate[0] == 7,
		  "at most max_parallel_steps at once");

	steps[2].worker = (struct StepWorker *) &fake_worker;
	run_next(steps, NSTEPS, 2, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == 7 && plan.ndelegate == 0, "steps in flight take their slots");
	run_next(steps, NSTEPS, 1, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 0 && !plan.ends,
		  "no slot left: nothing starts, and the run waits for what is in flight");
	steps[2].worker = NULL;

	steps[2].status = STEP_RUNNING;
	steps[2].executing = true;
	check(!step_ready(steps, 2), "the step the run worker executes is not ready");
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 2 && plan.delegate[0] == 7 && plan.delegate[1] == 1,
		  "while the run worker executes a step (a report came meanwhile), the others go to step workers");
	steps[2].executing = false;

	fresh_run(steps);
	set_done(steps, 1);
	steps[2].status = STEP_FAILED;
	steps[1].status = STEP_RUNNING;
	steps[1].worker = (struct StepWorker *) &fake_worker;
	run_next(steps, NSTEPS, 4, 0, FAIL_PERMANENT, false, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 0 && !plan.ends,
		  "after a critical step failed nothing starts; the run waits for the steps in flight");
	steps[1].worker = NULL;
	steps[1].status = STEP_COMPLETED;
	run_next(steps, NSTEPS, 4, 0, FAIL_PERMANENT, false, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ends && plan.end == RUN_FAILED,
		  "then it ends FAILED once they settled");

	fresh_run(steps);
	set_done(steps, NSTEPS);
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, false, OPERATION_PROVISION, &plan);
	check(plan.ends && plan.end == RUN_COMPLETED, "every step done: the run ends COMPLETED");
}

/*
 * A cancel requested while steps are in flight: nothing new starts, the run waits for those
 * in flight (their outcomes are recorded), then ends CANCELLED; a resumed step (left running
 * by an interrupted execution) still runs, to learn its outcome.
 */
static void
test_cancel(void)
{
	RunStep		steps[NSTEPS];
	RunPlan		plan;

	fresh_run(steps);
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, true, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 0 && plan.ends && plan.end == RUN_CANCELLED,
		  "cancelled before any step: nothing starts, the run ends CANCELLED");

	set_done(steps, 1);
	steps[2].status = STEP_RUNNING;
	steps[2].executing = true;
	steps[7].status = STEP_RUNNING;
	steps[7].worker = (struct StepWorker *) &fake_worker;
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, true, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 0 && !plan.ends,
		  "cancelled with steps in flight: nothing new starts (fiscal year stays), the run waits for them");
	steps[7].worker = NULL;
	steps[7].status = STEP_COMPLETED;
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, true, OPERATION_PROVISION, &plan);
	check(plan.own == -1 && plan.ndelegate == 0 && !plan.ends,
		  "a step worker's outcome recorded: the run still waits for the run worker's own step");
	steps[2].executing = false;
	steps[2].status = STEP_COMPLETED;
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, true, OPERATION_PROVISION, &plan);
	check(plan.ends && plan.end == RUN_CANCELLED, "everything in flight settled: the run ends CANCELLED");

	steps[3].status = STEP_RUNNING;
	steps[3].resumed = true;
	run_next(steps, NSTEPS, 4, 0, FAIL_NONE, true, OPERATION_PROVISION, &plan);
	check(plan.own == 3 && plan.ndelegate == 0 && !plan.ends,
		  "cancelled as it resumes: the step left running is executed again, no other starts");
}

static void
test_final_status(void)
{
	RunStep		steps[NSTEPS];

	fresh_run(steps);
	set_done(steps, NSTEPS);
	steps[5].status = STEP_EXISTS;
	steps[6].status = STEP_SKIPPED;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, false, OPERATION_PROVISION), RUN_COMPLETED,
			  "completed, exists and skipped: COMPLETED");

	steps[6].status = STEP_FAILED;
	steps[6].critical = false;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, false, OPERATION_PROVISION), RUN_PARTIAL,
			  "a non-critical step failed: PARTIAL");

	steps[6].critical = true;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_PERMANENT, false, OPERATION_PROVISION), RUN_FAILED,
			  "a critical step failed: FAILED");
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_OFFLINE, false, OPERATION_PROVISION), RUN_FAILED,
			  "offline later than the reachability step: FAILED");

	fresh_run(steps);
	steps[0].status = STEP_FAILED;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_OFFLINE, false, OPERATION_PROVISION), RUN_NOT_PROVISIONED,
			  "the reachability step failed offline: NOT_PROVISIONED");
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_PERMANENT, false, OPERATION_PROVISION), RUN_FAILED,
			  "the reachability step refused (a bad key): FAILED");
	check_int(run_final_status(steps, NSTEPS, -1, FAIL_OFFLINE, false, OPERATION_PROVISION), RUN_FAILED,
			  "no reachability step (no driver): FAILED");
	steps[0].status = STEP_COMPLETED;
	steps[3].status = STEP_FAILED;
	check_int(run_final_status(steps, NSTEPS, 3, FAIL_OFFLINE, false, OPERATION_PROVISION), RUN_NOT_PROVISIONED,
			  "the driver names its reachability step, not the first one");

	fresh_run(steps);
	set_done(steps, 4);
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, true, OPERATION_PROVISION), RUN_CANCELLED,
			  "a cancel with steps left to start: CANCELLED");
	steps[2].status = STEP_FAILED;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_PERMANENT, true, OPERATION_PROVISION), RUN_FAILED,
			  "a critical step failed before the cancel took effect: FAILED (nothing was left to start)");
	set_done(steps, NSTEPS);
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, true, OPERATION_PROVISION), RUN_COMPLETED,
			  "a cancel too late (every step done): COMPLETED");
	steps[6].status = STEP_FAILED;
	steps[6].critical = false;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, true, OPERATION_PROVISION), RUN_PARTIAL,
			  "a cancel too late (every step settled, a non-critical one failed): PARTIAL");
}

static void
test_statuses(void)
{
	check_int(tenant_status_of_run(RUN_PENDING, TENANT_FAILED, OPERATION_PROVISION), TENANT_PROVISIONING, "queued: PROVISIONING");
	check_int(tenant_status_of_run(RUN_IN_PROGRESS, TENANT_FAILED, OPERATION_PROVISION), TENANT_PROVISIONING, "running: PROVISIONING");
	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_FAILED, OPERATION_PROVISION), TENANT_PROVISIONED, "COMPLETED: PROVISIONED");
	check_int(tenant_status_of_run(RUN_PARTIAL, TENANT_FAILED, OPERATION_PROVISION), TENANT_PARTIAL, "PARTIAL: PARTIAL");
	check_int(tenant_status_of_run(RUN_FAILED, TENANT_FAILED, OPERATION_PROVISION), TENANT_FAILED, "FAILED: FAILED");
	check_int(tenant_status_of_run(RUN_NOT_PROVISIONED, TENANT_FAILED, OPERATION_PROVISION), TENANT_NOT_PROVISIONED,
			  "NOT_PROVISIONED: NOT_PROVISIONED");
	check_int(tenant_status_of_run(RUN_CANCELLED, TENANT_NOT_PROVISIONED, OPERATION_PROVISION), TENANT_NOT_PROVISIONED,
			  "CANCELLED, a first run: NOT_PROVISIONED, as before it");
	check_int(tenant_status_of_run(RUN_CANCELLED, TENANT_FAILED, OPERATION_PROVISION), TENANT_FAILED,
			  "CANCELLED: the status before the run");
	check(run_status_is_active(RUN_PENDING) && run_status_is_active(RUN_IN_PROGRESS) &&
		  !run_status_is_active(RUN_COMPLETED) && !run_status_is_active(RUN_NOT_PROVISIONED),
		  "active: queued or running");
	check(run_status_is_final(RUN_COMPLETED) && run_status_is_final(RUN_PARTIAL) &&
		  run_status_is_final(RUN_FAILED) && run_status_is_final(RUN_NOT_PROVISIONED) &&
		  run_status_is_final(RUN_CANCELLED) && !run_status_is_final(RUN_IN_PROGRESS), "final: every status not active");
}

/*
 * Lifecycle runs: the tenant's status changes only when one completes, and VERIFY changes
 * it never; a verify run fails when any check failed, and no lifecycle run ends
 * NOT_PROVISIONED (the tenant was provisioned).
 */
static void
test_lifecycle(void)
{
	RunStep		steps[NSTEPS];
	const Operation lifecycle[] = {OPERATION_VERIFY, OPERATION_SUSPEND, OPERATION_RESUME, OPERATION_OFFBOARD};
	const RunStatus unfinished[] = {RUN_PENDING, RUN_IN_PROGRESS, RUN_PARTIAL, RUN_FAILED, RUN_NOT_PROVISIONED,
	RUN_CANCELLED};

	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_PROVISIONED, OPERATION_SUSPEND), TENANT_SUSPENDED,
			  "SUSPEND COMPLETED: SUSPENDED");
	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_SUSPENDED, OPERATION_RESUME), TENANT_PROVISIONED,
			  "RESUME COMPLETED: PROVISIONED");
	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_OFFBOARDED, OPERATION_RESUME), TENANT_PROVISIONED,
			  "RESUME of an offboarded tenant COMPLETED: PROVISIONED");
	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_SUSPENDED, OPERATION_OFFBOARD), TENANT_OFFBOARDED,
			  "OFFBOARD COMPLETED: OFFBOARDED");
	check_int(tenant_status_of_run(RUN_COMPLETED, TENANT_PARTIAL, OPERATION_VERIFY), TENANT_PARTIAL,
			  "VERIFY COMPLETED: the status it had");
	for (int o = 0; o < 4; o++)
		for (int s = 0; s < 6; s++)
			check_int(tenant_status_of_run(unfinished[s], TENANT_SUSPENDED, lifecycle[o]), TENANT_SUSPENDED,
					  "a lifecycle run queued, running, failed or cancelled: the status it had");

	fresh_run(steps);
	for (int i = 0; i < NSTEPS; i++)
		steps[i].critical = false;
	set_done(steps, NSTEPS);
	steps[4].status = STEP_EXISTS;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, false, OPERATION_VERIFY), RUN_COMPLETED,
			  "VERIFY: every step found: COMPLETED");
	steps[4].status = STEP_FAILED;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, false, OPERATION_VERIFY), RUN_FAILED,
			  "VERIFY: a document missing or changed: FAILED, not PARTIAL");
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, false, OPERATION_PROVISION), RUN_PARTIAL,
			  "the same steps provisioning: PARTIAL");

	fresh_run(steps);
	steps[0].status = STEP_FAILED;
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_OFFLINE, false, OPERATION_SUSPEND), RUN_FAILED,
			  "a lifecycle run whose engine was offline at its reachability step: FAILED");
	set_done(steps, 3);
	check_int(run_final_status(steps, NSTEPS, 0, FAIL_NONE, true, OPERATION_VERIFY), RUN_CANCELLED,
			  "a cancelled VERIFY with steps left: CANCELLED");
}

static int
by_strcmp(const char *a, const char *b)
{
	return strcmp(a, b);
}

static void
test_progress(void)
{
	StepStatus	statuses[4] = {STEP_COMPLETED, STEP_RUNNING, STEP_EXISTS, STEP_RUNNING};
	const char *const ks[4] = {"step_0", "step_3", "step_2", "step_1"};

	check_int(run_steps_done(statuses, 4), 2, "done steps counted");
	check_int(run_progress(2, 4, RUN_IN_PROGRESS), 50, "progress: done of all");
	check_int(run_progress(4, 4, RUN_PARTIAL), 99, "progress stays below 100 until COMPLETED");
	check_int(run_progress(3, 4, RUN_COMPLETED), 100, "COMPLETED: 100");
	check_int(run_progress(0, 0, RUN_PENDING), 0, "no steps: 0");
	check_int(run_progress(1, 3, RUN_IN_PROGRESS), 33, "progress rounds down");
	check_int(run_current_step(statuses, ks, 4, by_strcmp), 3,
			  "current step: the first running one in the keys' order");
	statuses[1] = statuses[3] = STEP_FAILED;
	check_int(run_current_step(statuses, ks, 4, by_strcmp), -1, "none running: no current step");
}

int
main(void)
{
	test_weights_and_readiness();
	test_next_steps();
	test_cancel();
	test_final_status();
	test_statuses();
	test_lifecycle();
	test_progress();
	printf("1..%d\n", passed + failed);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
