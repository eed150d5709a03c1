/*
 * run_worker.c
 *     A run worker: claims a run, executes it to its end step boundary by step boundary,
 *     then claims the next runnable one or waits idle for a while before it exits.
 *
 * The launcher starts one dynamic background worker per runnable run (or hands the run to
 * an idle one). The worker takes the run's advisory lock for the life of its session, so a
 * run never has two workers, and then repeats: call the engine with no transaction open,
 * then record the step's outcome and the start of the next steps in one short transaction.
 * A step that was running when the server stopped is executed again when the run resumes;
 * steps check the engine before they create, so nothing is made twice.
 *
 * At each boundary the state machine (run_state.c) says which ready steps start: one alone
 * the run worker executes itself; steps at once each go to a step worker (step_worker.c),
 * whose reports the run worker records as they arrive. It alone writes the run.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "provisioning.h"
#include "run.h"
#include "run_events.h"

/* An engine's quickest answer (ms) from which a run's independent steps run at once */
#define PARALLEL_MIN_REQUEST_MS 5

/* How long a run worker with nothing to do waits for work before it exits */
#define WORKER_IDLE_MS 10000

/* The first step plan starts whose start is not recorded yet, or -1 */
static int
first_start(const RunContext *ctx, const RunPlan *plan)
{
	for (int i = -1; i < plan->ndelegate; i++)
	{
		int			step = i < 0 ? plan->own : plan->delegate[i];

		if (step >= 0 && !ctx->steps[step].started)
			return step;
	}
	return -1;
}

/*
 * A step boundary, in the open transaction: records the outcome of step done (-1 for
 * none: the run begins, or a step worker exited), decides which ready steps start (the
 * ones most steps wait for first; provisioning.max_parallel_steps at once, counting those
 * in flight), records their start, and the run's end once every step settled or a
 * critical one failed and nothing is in flight. After a cancel was requested nothing new
 * starts and the run ends once nothing is in flight.
 */
static void
run_plan(RunContext *ctx, int done, const StepResult *result, double duration_ms, RunPlan *plan)
{
	int			first;
	bool		cancel = false;

	/*
	 * A delegated step costs another process's load of the run and its report (and a process
	 * start when no step worker waits idle), more than a few of a fast engine's answers:
	 * steps run at once only when every answer of this run's engine so far was slow (the
	 * quickest one: a single slow answer is more often a busy machine). Queued runs lose
	 * nothing by it: step workers have background worker slots of their own (step_pool.c).
	 */
	int			parallel = (prov_max_parallel_steps > 1 && ctx->step.http.requests > 0 &&
							ctx->step.http.fastest_ms >= PARALLEL_MIN_REQUEST_MS) ?
		prov_max_parallel_steps : 1;

	if (done >= 0)
	{
		ctx->steps[done].status = result->status;
		ctx->steps[done].message = result->status == STEP_FAILED ? result->message : NULL;
		if (step_stops_run(&ctx->steps[done]) && ctx->error_kind == FAIL_NONE)
			ctx->error_kind = result->kind;
	}
	run_next(ctx->steps, ctx->nsteps, parallel, ctx->reachability_step, ctx->error_kind,
			 ctx->cancel_requested, ctx->op, plan);

	/* the first start goes with the outcome; steps whose start is recorded keep it */
	first = first_start(ctx, plan);
	if (done >= 0 || first >= 0 || plan->ends)
		cancel = run_record(ctx, done, done >= 0 ? step_status_names[result->status] : NULL,
							done >= 0 ? ctx->steps[done].attempts : 0, done >= 0 ? result->message : NULL,
							duration_ms, first, plan->ends ? &plan->end : NULL,
							plan->ends ? ctx->error_kind : done >= 0 ? result->kind : FAIL_NONE);
	if (cancel && !ctx->cancel_requested && !plan->ends)
	{
		/*
		 * A cancel requested since the last boundary: the record took the outcome but not
		 * the start. Planned again, nothing new starts, and the run ends here unless steps
		 * are in flight (their outcomes come first).
		 */
		ctx->cancel_requested = true;
		run_next(ctx->steps, ctx->nsteps, parallel, ctx->reachability_step, ctx->error_kind,
				 true, ctx->op, plan);
		first = first_start(ctx, plan);
		if (first >= 0 || plan->ends)
			run_record(ctx, -1, NULL, 0, NULL, 0, first, plan->ends ? &plan->end : NULL, ctx->error_kind);
	}
	if (first >= 0)
		ctx->steps[first].started = true;
	for (int i = -1; i < plan->ndelegate; i++)
	{
		int			step = i < 0 ? plan->own : plan->delegate[i];

		if (step < 0 || ctx->steps[step].started)
			continue;
		run_record(ctx, -1, NULL, 0, NULL, 0, step, NULL, FAIL_NONE);
		ctx->steps[step].started = true;
	}
}

/*
 * Commits a step boundary. Unless the run ends there, the WAL flush is left to the next
 * engine request, which carries it out once it went out (http_sent_hook): a crash in
 * between loses a boundary the engine may have seen the next request of, and the resumed
 * run settles every create as it does after any interruption. The run's end waits for
 * its flush, so it is never seen before it is durable.
 */
static void
boundary_commit(const RunPlan *plan)
{
	if (plan->ends)
		worker_txn_commit();
	else
		worker_txn_commit_flush_later();
}

/*
 * Claims a run and begins it in one transaction: takes its lock (the given run, or else
 * the oldest runnable run no worker holds), begins it, and records the start of its first
 * steps, or its end when no step is left. A step left running belongs to a step worker
 * of an earlier run worker while that holds its lock; else it is executed again. NULL
 * when there was no run to claim.
 */
static RunContext *
run_claim(MemoryContext parent, const pg_uuid_t *given, RunPlan *plan)
{
	pg_uuid_t	ids[MAX_RUN_WORKERS];
	pg_uuid_t	run_id;
	bool		claimed = false;
	bool		held_back = false;
	bool		resumed = false;
	RunContext *ctx = NULL;
	double		txn_ms_before = worker_txn_ms();

	reload_if_pending();
	worker_txn_begin("claiming a provisioning run");
	if (given != NULL)
	{
		memcpy(&run_id, given, sizeof(pg_uuid_t));
		claimed = run_lock_try(&run_id);
	}
	else
	{
		int			n = runnable_runs(ids, lengthof(ids), &held_back);

		for (int i = 0; i < n && !claimed; i++)
			if ((claimed = run_lock_try(&ids[i])))
				memcpy(&run_id, &ids[i], sizeof(pg_uuid_t));
	}
	if (claimed && !step_workers_gone(&run_id))
	{
		/*
		 * Step workers of the run worker before are still in an engine call: they stop at
		 * their next report, which finds their run worker gone. Waited for in a transaction
		 * of its own, which holds nothing else.
		 */
		worker_txn_commit();
		worker_txn_begin("waiting for the step workers of the run's earlier run worker");
		step_workers_wait_gone(&run_id);
		worker_txn_commit();
		worker_txn_begin("claiming a provisioning run");
	}
	if (claimed && (ctx = run_begin(parent, &run_id)) == NULL)
		run_lock_release(&run_id);
	if (ctx != NULL)
	{
		for (int i = 0; i < ctx->nsteps; i++)
			if (ctx->steps[i].status == STEP_RUNNING)
				ctx->steps[i].resumed = resumed = true;
		run_plan(ctx, -1, NULL, 0, plan);
	}
	if (ctx != NULL)
		boundary_commit(plan);
	else
		worker_txn_commit();
	if (ctx != NULL)
	{
		ctx->txn_ms_before = txn_ms_before;
		ctx->first = plan->own;
		run_event_run_started(ctx, resumed);
	}
	return ctx;
}

/*
 * Starts the step workers plan delegates to. A step no slot was free for waits for the next
 * boundary; with nothing else in flight at all, the run worker executes it itself.
 */
static void
run_delegate(RunContext *ctx, RunPlan *plan)
{
	bool		in_flight = false;
	int			unstarted = -1;

	/* a step worker's requests come after the start recorded for it is on disk */
	if (plan->ndelegate > 0)
		worker_flush_owed();
	for (int i = 0; i < plan->ndelegate; i++)
		if (!step_worker_start(ctx, plan->delegate[i]) && unstarted < 0)
			unstarted = plan->delegate[i];
	for (int i = 0; i < ctx->nsteps; i++)
		in_flight |= step_in_flight(&ctx->steps[i]);
	if (unstarted >= 0)
		ereport(DEBUG1,
				(errmsg_internal("provisioning: no background worker slot for step %s; %s",
								 ctx->steps[unstarted].key,
								 in_flight || plan->own >= 0 ? "it waits for the run worker or a free slot" :
								 "the run worker executes it")));
	if (unstarted >= 0 && !in_flight && plan->own < 0)
		plan->own = unstarted;
}

/* The boundary a step's outcome (done), or a step worker's exit without one, makes */
static void
run_boundary(RunContext *ctx, int done, const StepReport *report, RunPlan *plan)
{
	worker_txn_begin(done >= 0 ? ctx->steps[done].key : "recording a step worker's exit");
	run_plan(ctx, done, done >= 0 ? &report->result : NULL, done >= 0 ? report->duration_ms : 0, plan);
	boundary_commit(plan);
}

/* The run whose step this run worker executes itself, and which step (reports_meanwhile) */
static RunContext *executing_run = NULL;
static int	executing_step = -1;

/*
 * http_wait_hook: the latch was set while the run worker's own step had a request out,
 * maybe by a step worker's report. Each report that came makes its boundary now, and what
 * it lets start goes to step workers. An error here ends the worker, as it would at any
 * boundary (the run resumes): it must not reach the step in the middle of its request.
 */
static void
reports_meanwhile(void)
{
	RunContext *ctx = executing_run;
	StepReport	report;
	RunPlan		plan;
	int			done;

	if (ctx == NULL || IsTransactionState())
		return;
	PG_TRY();
	{
		while ((done = step_workers_take(ctx, &report, false)) != STEP_WORKERS_QUIET)
		{
			run_boundary(ctx, done, &report, &plan);
			run_delegate(ctx, &plan);
		}
	}
	PG_CATCH();
	{
		EmitErrorReport();
		proc_exit(1);
	}
	PG_END_TRY();
	run_event_activity(ctx, executing_step);
}

/*
 * Executes a claimed run, as planned at its claim, to its end: its own step, or else the
 * next report of its step workers, then the boundary it makes.
 */
static void
run_execute(RunContext *ctx, RunPlan *plan)
{
	for (;;)
	{
		StepReport	report;
		int			done;
		bool		own;

		reload_if_pending();
		run_delegate(ctx, plan);
		if (plan->ends)
		{
			run_event_run_finished(ctx, plan->end);
			step_workers_release(ctx);
			return;
		}
		own = plan->own >= 0;
		if (own)
		{
			done = plan->own;
			ctx->steps[done].started = false;
			ctx->steps[done].executing = true;
			executing_run = ctx;
			executing_step = done;
			report.duration_ms = execute_step(ctx, done, &report.result);
			executing_run = NULL;
			ctx->steps[done].executing = false;
		}
		else
			done = step_workers_take(ctx, &report, true);
		run_boundary(ctx, done, &report, plan);
		/* a step worker logs the end of its step itself */
		if (own)
			run_event_step_finished(ctx, done, &report.result, report.duration_ms);
	}
}

/*
 * A run worker: executes the run it was started for, then any other runnable run, and
 * waits idle for the launcher's wake-up (a new run) for a while before it exits. Staying
 * on saves the next run the process start, the connection and the compiled plans.
 */
void
provisioning_run_main(Datum arg)
{
	pg_uuid_t	given;
	bool		first_pass = true;
	TimestampTz idle_since;
	MemoryContext loop_cxt;

	memcpy(&given, MyBgworkerEntry->bgw_extra, sizeof(given));
	dynamic_worker_connect(arg, "provisioning run");
	before_shmem_exit(step_workers_stop, (Datum) 0);
	http_sent_hook = worker_flush_owed;
	http_wait_hook = reports_meanwhile;
	worker_pool_join();

	/* whatever a pass of the loop allocates goes with it: a reused worker stays flat */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "provisioning run loop",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loop_cxt);
	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		RunContext *ctx;
		RunPlan		plan;
		bool		handed;

		MemoryContextReset(loop_cxt);
		ctx = run_claim(loop_cxt, first_pass ? &given : NULL, &plan);
		if (ctx == NULL && first_pass)
			ctx = run_claim(loop_cxt, NULL, &plan);
		first_pass = false;
		if (ctx != NULL)
		{
			pg_uuid_t	run_id = ctx->run_id;

			run_execute(ctx, &plan);
			run_forget(ctx);
			run_lock_release(&run_id);
			idle_since = GetCurrentTimestamp();
			reload_if_pending();
			if (worker_pool_surplus())
				proc_exit(0);
			continue;
		}
		if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), WORKER_IDLE_MS))
			proc_exit(0);

		pgstat_report_activity(STATE_IDLE, NULL);
		if (!worker_idle_begin())
			proc_exit(0);		/* surplus: the idle list is full */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_IDLE_MS, PG_WAIT_EXTENSION);
		/* a committing backend that handed this worker a run keeps it from leaving */
		handed = worker_idle_end();
		if (handed)
			idle_since = GetCurrentTimestamp();
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
	}
}
