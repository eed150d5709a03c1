/*
 * step_exec.c
 *     Executing one step, with its retries: the run worker and a step worker alike.
 *
 * The step's function is called with no transaction open; an ERROR it raises fails the
 * attempt, not the worker. A transient failure or an offline engine is retried after an
 * exponential, jittered wait of at least the engine's Retry-After, and the retry is
 * recorded as the next attempt begins, so a resume waits from there.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "provisioning.h"
#include "run.h"
#include "run_events.h"

/* Resumes of one step (crash restarts) tolerated beyond its retries before giving up */
#define MAX_INTERRUPTIONS 5

void
backoff_sleep(int attempt, int retry_after_s)
{
	worker_sleep(http_backoff_ms(attempt, retry_after_s));
}

/* Calls the step's function; an ERROR raised inside fails the step instead of the worker. */
static void
call_step(RunContext *ctx, StepFunction function, StepResult *result)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		function(&ctx->step, result);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		FlushErrorState();
		/* pg_cancel_backend stops the attempt, not the run */
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
			step_fail(result, FAIL_TRANSIENT, "the step was cancelled");
		else
			step_fail(result, FAIL_PERMANENT, "internal error: %s", error->message);
	}
	PG_END_TRY();
}

/*
 * Runs step idx until it succeeds, fails for good, or its retries are spent; its duration
 * in ms, retries and their waits included.
 */
double
execute_step(RunContext *ctx, int idx, StepResult *result)
{
	const EngineDriver *driver = ctx->driver;
	TimestampTz start = GetCurrentTimestamp();
	RunStep    *step = &ctx->steps[idx];
	MemoryContext attempt_cxt = AllocSetContextCreate(ctx->cxt, "provisioning step",
													  ALLOCSET_DEFAULT_SIZES);
	StepFunction function = driver ? driver_step(driver, ctx->operation, step->key) : NULL;
	MemoryContext old;

	ctx->current = idx;
	ctx->create_sent = false;
	/*
	 * An interrupted execution may have left creates in the engine, of this step or of any
	 * other (a promoted standby never heard of the old primary's last steps): in a resumed
	 * run every create settles for write_settle_ms from the resume, and a step that was
	 * left running from its own new start.
	 */
	ctx->unsettled_since = step->resumed ? GetCurrentTimestamp() : ctx->resumed_at;
	ctx->unsettled_target = NULL;
	run_event_step_started(ctx, idx);

	for (;;)
	{
		long		delay;
		char	   *message;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(attempt_cxt);
		old = MemoryContextSwitchTo(attempt_cxt);
		memset(result, 0, sizeof(StepResult));
		result->retry_after_s = -1;

		if (ctx->engine_kind == NULL)
			step_fail(result, FAIL_PERMANENT, "the tenant has no engine");
		else if (driver == NULL)
			step_fail(result, FAIL_PERMANENT, "there is no driver for %s engines in this version",
					  ctx->engine_kind);
		else if (function == NULL)
			step_fail(result, FAIL_PERMANENT, "the %s driver has no step %s", driver->kind, step->key);
		else if (step->attempts > 1 + prov_http_retries + MAX_INTERRUPTIONS)
			step_fail(result, FAIL_PERMANENT,
					  "the step was interrupted %d times by server restarts; giving up", step->attempts - 1);
		else if (ctx->session_open || (ctx->session_open = driver->begin(&ctx->step, result)))
			call_step(ctx, function, result);
		MemoryContextSwitchTo(old);

		/* the outcome outlives this attempt's memory */
		result->message = MemoryContextStrdup(ctx->cxt, result->message ? result->message : "");
		if (result->status != STEP_FAILED ||
			(result->kind != FAIL_TRANSIENT && result->kind != FAIL_OFFLINE) ||
			step->attempts >= 1 + prov_http_retries)
			break;

		delay = http_backoff_ms(step->attempts, result->retry_after_s);
		message = psprintf("attempt %d failed: %s; retried after %ld ms",
						   step->attempts, result->message, delay);
		run_event_retry(ctx, idx, result, delay);
		worker_sleep(delay);
		/* recorded as the next attempt begins: a resume waits from there (_run_begin) */
		step->attempts++;
		if (ctx->report != NULL)
			step_worker_report_retry(ctx, idx, message);
		else
			run_record_retry(ctx, idx, step->attempts, message);
		run_event_activity(ctx, idx);
	}
	MemoryContextDelete(attempt_cxt);
	return (GetCurrentTimestamp() - start) / 1000.0;
}
