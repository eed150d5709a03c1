/*
 * step_worker.c
 *     Step workers: the dynamic background workers (backend_type "provisioning step") a run
 *     worker starts for the ready steps it does not execute itself, how it waits for them
 *     and notes their exits, and the step worker's own main.
 *
 * A step worker holds the step's advisory lock, executes the one step with its retries
 * exactly as the run worker would (step_exec.c), records its outcome and exits; the
 * postmaster then sets the run worker's latch (bgw_notify_pid). A step whose worker could
 * not start, or died without recording, is left to the run worker, never failed.
 */
#include "postgres.h"

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

/* What a step worker is started for (its bgw_extra) */
typedef struct StepAssignment
{
	pg_uuid_t	run_id;
	int			step;			/* index in the run's step list */
	bool		resumed;		/* left running by an interrupted execution */
	TimestampTz resumed_at;		/* the run's resume (RunContext.resumed_at) */
	int			coordinator;	/* the run worker's PGPROC number */
	bool		has_share;		/* the run worker's session: share holds it */
	char		share[ENGINE_SESSION_SHARE];
} StepAssignment;

/*
 * Notes which step workers are gone (exited) and which foreign steps no step worker holds
 * any more; true when some step was in other hands, and the run must be read again. Read
 * after this, a step still running whose worker is gone was left unrecorded.
 */
bool
step_workers_note_exits(RunContext *ctx)
{
	bool		others = false;

	for (int i = 0; i < ctx->nsteps; i++)
	{
		RunStep    *s = &ctx->steps[i];
		pid_t		pid;

		if (s->worker != NULL)
			s->exited = GetBackgroundWorkerPid(s->worker, &pid) == BGWH_STOPPED;
		else if (s->foreign)
			s->exited = step_lock_available(&ctx->run_id, i);
		others |= step_in_other_hands(s);
	}
	return others;
}

/* Starts a step worker for step idx; false when no background worker slot was free. */
bool
step_worker_start(RunContext *ctx, int idx)
{
	BackgroundWorker worker;
	StepAssignment assignment;
	MemoryContext old;
	bool		ok;

	dynamic_worker_init(&worker, "provisioning_step_main", "provisioning step");
	snprintf(worker.bgw_name, BGW_MAXLEN, "provisioning step %s", ctx->steps[idx].key);
	memset(&assignment, 0, sizeof(assignment));
	memcpy(&assignment.run_id, &ctx->run_id, sizeof(pg_uuid_t));
	assignment.step = idx;
	assignment.resumed = ctx->steps[idx].resumed;
	assignment.resumed_at = ctx->resumed_at;
	assignment.coordinator = MyProc->pgprocno;
	if (ctx->session_open && ctx->driver != NULL && ctx->driver->share != NULL)
	{
		ctx->driver->share(&ctx->step, assignment.share);
		assignment.has_share = true;
	}
	StaticAssertStmt(sizeof(assignment) <= BGW_EXTRALEN, "a step assignment must fit in bgw_extra");
	memcpy(worker.bgw_extra, &assignment, sizeof(assignment));

	old = MemoryContextSwitchTo(ctx->cxt);
	ok = RegisterDynamicBackgroundWorker(&worker, &ctx->steps[idx].worker);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		ctx->steps[idx].worker = NULL;
		ereport(DEBUG1,
				(errmsg_internal("provisioning: no background worker slot for step %s; the run worker executes it",
								 ctx->steps[idx].key)));
		return false;
	}
	ctx->steps[idx].started = false;
	return true;
}

/*
 * Waits for a step in other hands to settle: a step worker this worker started to exit
 * (the postmaster sets the latch), or else a step worker of an earlier run worker to let
 * go of its step.
 */
void
step_workers_wait(RunContext *ctx)
{
	worker_flush_owed();
	pgstat_report_activity(STATE_RUNNING, "waiting for the run's steps in step workers");
	for (;;)
	{
		int			foreign = -1;
		bool		started = false;

		for (int i = 0; i < ctx->nsteps; i++)
		{
			pid_t		pid;

			if (ctx->steps[i].worker != NULL)
			{
				if (GetBackgroundWorkerPid(ctx->steps[i].worker, &pid) == BGWH_STOPPED)
					return;
				started = true;
			}
			else if (ctx->steps[i].foreign && foreign < 0)
				foreign = i;
		}
		if (!started)
		{
			if (foreign >= 0)
			{
				StartTransactionCommand();
				step_lock_wait(&ctx->run_id, foreign);
				CommitTransactionCommand();
			}
			return;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
	}
}

/*
 * A step worker: executes one step of a run, which its run worker recorded as started,
 * with the step's retries, records the outcome, and exits. It holds the step's lock for
 * its life: a later run worker leaves the step alone meanwhile. It does nothing when the
 * step is no longer running (the run ended, or another process recorded it).
 */
void
provisioning_step_main(Datum arg)
{
	StepAssignment assignment;
	RunContext *ctx = NULL;
	StepResult	result;
	double		duration_ms;
	int			idx;

	memcpy(&assignment, MyBgworkerEntry->bgw_extra, sizeof(assignment));
	idx = assignment.step;
	dynamic_worker_connect(arg, "provisioning step");

	worker_txn_begin("loading a provisioning step");
	if (step_lock_try(&assignment.run_id, idx))
		ctx = run_describe(TopMemoryContext, &assignment.run_id);
	worker_txn_commit();
	if (ctx == NULL || idx < 0 || idx >= ctx->nsteps || ctx->steps[idx].status != STEP_RUNNING)
		proc_exit(0);
	MemoryContextSwitchTo(ctx->cxt);

	ctx->steps[idx].resumed = assignment.resumed;
	ctx->resumed_at = assignment.resumed_at;
	ctx->step.session_share = assignment.has_share ? assignment.share : NULL;
	duration_ms = execute_step(ctx, idx, &result);
	ctx->steps[idx].status = result.status;
	run_record_step(ctx, idx, step_status_names[result.status], ctx->steps[idx].attempts,
					result.message, duration_ms, result.status == STEP_FAILED ? result.kind : FAIL_NONE);
	run_event_step_finished(ctx, idx, &result, duration_ms);
	if (assignment.coordinator >= 0 && assignment.coordinator < MaxBackends)
		pg_atomic_fetch_add_u64(&prov_delegated_engine_us[assignment.coordinator],
								(uint64) (ctx->step.http.elapsed_ms * 1000.0));
	MemoryContextSwitchTo(TopMemoryContext);
	run_forget(ctx);
	proc_exit(0);
}
