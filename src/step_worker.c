/*
 * step_worker.c
 *     Step workers: the dynamic background workers (backend_type "provisioning step") that
 *     execute a run's steps at once, and how each reports to its run worker, which alone
 *     writes the run.
 *
 * For each step it delegates, a run worker makes a shared-memory queue (shm_mq, in a DSM
 * segment of its own) that only it receives from, and hands the step to an idle step worker
 * of the pool (step_pool.c), or else starts one. The step worker executes that one step with
 * the step's retries exactly as the run worker would (step_exec.c) and reports over the
 * queue: each retry as it begins, then the outcome with the metadata it set and its engine
 * time. Then it waits, idle, to be handed the next step of any run worker, and leaves after
 * STEP_IDLE_MS without one. The run worker records each report the moment it arrives
 * (run_worker.c).
 *
 * Neither waits for the other beyond that. A run worker that exits stops the step workers
 * still executing its steps (step_pool_stop), and a report finds the queue detached: a
 * step worker whose run worker is gone stops. A step whose step worker could not start, or
 * ended without an outcome, is executed again, as resumed (its creates settle). A step
 * worker holds the run's step-workers lock, shared, while it executes the run's step: a run
 * worker that takes a run over waits for those of the one before to be done (run_worker.c's
 * claim).
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "provisioning.h"
#include "run.h"
#include "run_events.h"

/* Room in a step worker's queue: a larger report goes through in parts */
#define REPORT_QUEUE_SIZE 16384

/* How long a step worker with nothing to do waits for a step before it exits */
#define STEP_IDLE_MS 10000

/* A step worker as its run worker holds it (RunStep.worker) */
typedef struct StepWorker
{
	BackgroundWorkerHandle *handle; /* a process this run worker started, or NULL */
	StepPoolRef ref;			/* the pool's slot serving the step */
	dsm_segment *segment;
	shm_mq_handle *queue;
} StepWorker;

/* A report's kind, its first byte */
#define REPORT_RETRY 'R'
#define REPORT_OUTCOME 'O'

/* The run whose step workers this run worker would leave behind if it exited now */
static RunContext *coordinated = NULL;

static void
put_text(StringInfo buf, const char *text)
{
	int			len = text ? strlen(text) : 0;

	pq_sendint32(buf, len);
	pq_sendbytes(buf, text ? text : "", len);
}

static char *
get_text(StringInfo msg)
{
	int			len = pq_getmsgint(msg, 4);
	char	   *text = palloc(len + 1);

	pq_copymsgbytes(msg, text, len);
	text[len] = '\0';
	return text;
}

/* Sends a report to the run worker; a step worker whose run worker is gone stops here. */
static void
report_send(RunContext *ctx, StringInfo buf)
{
	if (shm_mq_send(ctx->report, buf->len, buf->data, false, true) != SHM_MQ_SUCCESS)
	{
		ereport(LOG,
				(errmsg("provisioning: the run worker of run %s is gone; its step worker stops",
						ctx->step.correlation_id)));
		proc_exit(0);
	}
	pfree(buf->data);
}

/* A step worker's retry of step idx, attempt ctx->steps[idx].attempts, as it begins. */
void
step_worker_report_retry(RunContext *ctx, int idx, const char *message)
{
	StringInfoData buf;

	initStringInfo(&buf);
	pq_sendbyte(&buf, REPORT_RETRY);
	pq_sendint32(&buf, ctx->steps[idx].attempts);
	put_text(&buf, message);
	report_send(ctx, &buf);
}

/* A step worker's outcome of step idx, with the metadata it set and its engine time. */
static void
report_outcome(RunContext *ctx, int idx, const StepResult *result, double duration_ms)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	pq_sendbyte(&buf, REPORT_OUTCOME);
	pq_sendint32(&buf, result->status);
	pq_sendint32(&buf, result->kind);
	pq_sendint32(&buf, ctx->steps[idx].attempts);
	pq_sendfloat8(&buf, duration_ms);
	pq_sendfloat8(&buf, ctx->step.http.elapsed_ms);
	put_text(&buf, result->message);
	/* what this step worker's session learned, for its run worker's (EngineDriver.absorb) */
	if (ctx->session_open && ctx->driver->share != NULL && ctx->driver->absorb != NULL)
	{
		char		share[ENGINE_SESSION_SHARE];

		ctx->driver->share(&ctx->step, share);
		pq_sendbyte(&buf, 1);
		pq_sendbytes(&buf, share, sizeof(share));
	}
	else
		pq_sendbyte(&buf, 0);
	pq_sendint32(&buf, list_length(ctx->meta_written));
	foreach(lc, ctx->meta_written)
	{
		put_text(&buf, lfirst(lc));
		put_text(&buf, meta_get(&ctx->step, lfirst(lc)));
	}
	report_send(ctx, &buf);
}

/*
 * Takes in one report of step idx's step worker: a retry is recorded at once (false); an
 * outcome fills report, its metadata set as this worker's own to record with it (true).
 */
static bool
report_take(RunContext *ctx, int idx, const char *data, Size len, StepReport *report)
{
	StringInfoData msg;
	RunStep    *step = &ctx->steps[idx];
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);
	int			nmeta;

	msg.data = (char *) data;
	msg.len = len;
	msg.maxlen = 0;
	msg.cursor = 0;
	if (pq_getmsgbyte(&msg) == REPORT_RETRY)
	{
		char	   *message;

		step->attempts = pq_getmsgint(&msg, 4);
		message = get_text(&msg);
		MemoryContextSwitchTo(old);
		run_record_retry(ctx, idx, step->attempts, message);
		return false;
	}
	report->result.status = (StepStatus) pq_getmsgint(&msg, 4);
	report->result.kind = (FailKind) pq_getmsgint(&msg, 4);
	report->result.retry_after_s = -1;
	step->attempts = pq_getmsgint(&msg, 4);
	report->duration_ms = pq_getmsgfloat8(&msg);
	ctx->delegated_engine_ms += pq_getmsgfloat8(&msg);
	report->result.message = get_text(&msg);
	if (pq_getmsgbyte(&msg))
	{
		char		share[ENGINE_SESSION_SHARE];

		pq_copymsgbytes(&msg, share, sizeof(share));
		if (ctx->session_open)
			ctx->driver->absorb(&ctx->step, share);
	}
	nmeta = pq_getmsgint(&msg, 4);
	for (int i = 0; i < nmeta; i++)
	{
		char	   *key = get_text(&msg);

		meta_set(&ctx->step, key, get_text(&msg));
	}
	pq_getmsgend(&msg);
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * Lets go of step idx's step worker: its queue, and its handle. A process that never began
 * is given up; one that reported stays in the pool for the next step.
 */
static void
step_worker_forget(RunContext *ctx, int idx)
{
	StepWorker *worker = ctx->steps[idx].worker;

	(void) step_pool_let_go(&worker->ref, false);
	dsm_detach(worker->segment);
	if (worker->handle != NULL)
		pfree(worker->handle);
	pfree(worker);
	ctx->steps[idx].worker = NULL;
}

/* Starts a step worker for assignment, within the pool's budget; false when it could not. */
static bool
step_worker_launch(StepAssignment *assignment, StepWorker *worker)
{
	BackgroundWorker bgw;

	if (!step_pool_reserve(&worker->ref))
		return false;
	dynamic_worker_init(&bgw, "provisioning_step_main", "provisioning step");
	strlcpy(bgw.bgw_name, "provisioning step", BGW_MAXLEN);
	assignment->worker = worker->ref;
	StaticAssertStmt(sizeof(*assignment) <= BGW_EXTRALEN, "a step assignment must fit in bgw_extra");
	memcpy(bgw.bgw_extra, assignment, sizeof(*assignment));
	if (RegisterDynamicBackgroundWorker(&bgw, &worker->handle))
		return true;
	(void) step_pool_let_go(&worker->ref, false);
	return false;
}

/*
 * Delegates step idx: to an idle step worker of the pool, or else to a step worker started
 * for it; false when neither was to be had (the pool at its budget, or no background
 * worker slot free).
 */
bool
step_worker_start(RunContext *ctx, int idx)
{
	StepAssignment assignment;
	StepWorker *worker;
	shm_mq	   *mq;
	MemoryContext old;

	old = MemoryContextSwitchTo(ctx->cxt);
	worker = palloc0(sizeof(StepWorker));
	worker->segment = dsm_create(shm_mq_minimum_size + REPORT_QUEUE_SIZE, 0);
	/* the run's, not a transaction's: it outlives the boundary that started the worker */
	dsm_pin_mapping(worker->segment);
	mq = shm_mq_create(dsm_segment_address(worker->segment), shm_mq_minimum_size + REPORT_QUEUE_SIZE);
	shm_mq_set_receiver(mq, MyProc);

	memset(&assignment, 0, sizeof(assignment));
	memcpy(&assignment.run_id, &ctx->run_id, sizeof(pg_uuid_t));
	assignment.step = idx;
	assignment.resumed = ctx->steps[idx].resumed;
	assignment.resumed_at = ctx->resumed_at;
	assignment.queue = dsm_segment_handle(worker->segment);
	if (ctx->session_open && ctx->driver != NULL && ctx->driver->share != NULL)
	{
		ctx->driver->share(&ctx->step, assignment.share);
		assignment.has_share = true;
	}

	/*
	 * A pooled step worker that ends before it took the step up detaches the queue all the
	 * same (step_pool.c), so no handle is needed to learn that it is gone.
	 */
	if (!step_pool_hand(&assignment, &worker->ref) && !step_worker_launch(&assignment, worker))
	{
		MemoryContextSwitchTo(old);
		dsm_detach(worker->segment);
		pfree(worker);
		return false;
	}
	/* a started worker that exits, or never starts, before it attached detaches the queue */
	worker->queue = shm_mq_attach(mq, worker->segment, worker->handle);
	MemoryContextSwitchTo(old);
	ctx->steps[idx].worker = worker;
	ctx->steps[idx].started = false;
	coordinated = ctx;
	return true;
}

/*
 * The next report of the run's step workers that makes a step boundary: the outcome of a
 * step (its index; report filled), or a step worker gone without one (STEP_WORKER_GONE; its
 * step is left running, resumed). Retries are recorded as they come. With wait, it waits
 * for one; else STEP_WORKERS_QUIET when there is none yet.
 */
int
step_workers_take(RunContext *ctx, StepReport *report, bool wait)
{
	if (wait)
	{
		worker_flush_owed();
		run_event_waiting(ctx);
	}
	for (;;)
	{
		for (int i = 0; i < ctx->nsteps; i++)
		{
			shm_mq_result res = SHM_MQ_SUCCESS;
			Size		len;
			void	   *data;

			while (ctx->steps[i].worker != NULL &&
				   (res = shm_mq_receive(ctx->steps[i].worker->queue, &len, &data, true)) == SHM_MQ_SUCCESS)
				if (report_take(ctx, i, data, len, report))
				{
					step_worker_forget(ctx, i);
					return i;
				}
			if (ctx->steps[i].worker != NULL && res == SHM_MQ_DETACHED)
			{
				step_worker_forget(ctx, i);
				ctx->steps[i].resumed = true;
				return STEP_WORKER_GONE;
			}
		}
		if (!wait)
			return STEP_WORKERS_QUIET;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
	}
}

/*
 * As a run worker exits: the step workers still executing its steps stop (a later run
 * worker executes those steps again); the idle ones stay. Registered once per run worker
 * (before_shmem_exit).
 */
void
step_workers_stop(int code, Datum arg)
{
	if (coordinated == NULL)
		return;
	for (int i = 0; i < coordinated->nsteps; i++)
	{
		StepWorker *worker = coordinated->steps[i].worker;

		if (worker != NULL && step_pool_let_go(&worker->ref, true) && worker->handle != NULL)
			TerminateBackgroundWorker(worker->handle);
	}
}

/* The run worker is done with the run: none of its step workers is left to stop. */
void
step_workers_release(RunContext *ctx)
{
	if (coordinated == ctx)
		coordinated = NULL;
}

/*
 * Executes the step a step worker was given, which its run worker recorded as started,
 * with the step's retries, and reports its outcome. It does nothing when the run worker is
 * gone or the run ended meanwhile. Its first act takes up the queue: from then on, however
 * it ends, its run worker learns of it.
 */
static void
step_serve(const StepAssignment *assignment, MemoryContext cxt)
{
	RunContext *ctx;
	StepResult	result;
	double		duration_ms;
	dsm_segment *segment = dsm_attach(assignment->queue);
	shm_mq	   *mq;
	shm_mq_handle *queue;
	int			idx = assignment->step;

	if (segment == NULL)
		return;					/* its run worker is gone */
	mq = dsm_segment_address(segment);
	shm_mq_set_sender(mq, MyProc);
	queue = shm_mq_attach(mq, segment, NULL);

	worker_txn_begin("loading a provisioning step");
	step_workers_lock_share(&assignment->run_id);
	ctx = run_describe(cxt, &assignment->run_id);
	worker_txn_commit();
	if (ctx != NULL && idx >= 0 && idx < ctx->nsteps && ctx->steps[idx].status == STEP_RUNNING)
	{
		MemoryContext old = MemoryContextSwitchTo(ctx->cxt);

		ctx->report = queue;
		ctx->steps[idx].resumed = assignment->resumed;
		ctx->resumed_at = assignment->resumed_at;
		ctx->step.session_share = assignment->has_share ? assignment->share : NULL;
		duration_ms = execute_step(ctx, idx, &result);
		run_event_step_finished(ctx, idx, &result, duration_ms);
		report_outcome(ctx, idx, &result, duration_ms);
		MemoryContextSwitchTo(old);
	}
	if (ctx != NULL)
		run_forget(ctx);
	step_workers_lock_release(&assignment->run_id);
	/* detaches the queue too: after an outcome the run worker has it; else it sees us gone */
	dsm_detach(segment);
}

/*
 * A step worker: executes the step it was started for, then waits idle to be handed the
 * next step of any run worker (step_pool.c), and exits after STEP_IDLE_MS without one.
 * Staying on saves the next step the process start and the database connection.
 */
void
provisioning_step_main(Datum arg)
{
	StepAssignment assignment;
	MemoryContext loop_cxt;

	memcpy(&assignment, MyBgworkerEntry->bgw_extra, sizeof(assignment));
	dynamic_worker_connect(arg, "provisioning step");
	if (!step_pool_join(&assignment.worker))
		proc_exit(0);			/* its run worker gave the start up */

	/* whatever a step allocates goes with it: a step worker that stays stays flat */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "provisioning step loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		TimestampTz idle_since;

		step_serve(&assignment, loop_cxt);
		MemoryContextReset(loop_cxt);
		reload_if_pending();
		if (!step_pool_idle_begin())
			proc_exit(0);		/* surplus: the settings were lowered */
		/* the step's run no longer shows: this process serves none until handed one */
		pgstat_report_activity(STATE_IDLE, "waiting for a provisioning step");
		idle_since = GetCurrentTimestamp();
		for (;;)
		{
			bool		leave = TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), STEP_IDLE_MS);

			if (step_pool_take(&assignment, leave))
				break;
			if (leave)
				proc_exit(0);
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 STEP_IDLE_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			reload_if_pending();
		}
	}
}
