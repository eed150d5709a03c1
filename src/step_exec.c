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

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "engine_outage.h"
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

/* Is there time left to wait for the engine? The wait begins at the first outage met. */
static bool
outage_left(TimestampTz *deadline)
{
	TimestampTz now = GetCurrentTimestamp();

	if (*deadline == 0)
		*deadline = TimestampTzPlusMilliseconds(now, prov_engine_outage_wait_ms);
	return now < *deadline;
}

/*
 * May this attempt go to its engine? While the engine is known to be unreachable, a new
 * run's first step is turned away at once (false, result set: a provisioning run ends
 * NOT_PROVISIONED, and is queued again when the engine answers); any other attempt waits
 * for the engine (engine_outage_wait), up to provisioning.engine_outage_wait from the first
 * outage this step met, and is sent when the engine answers again or when its probe is due.
 */
static bool
engine_reachable(const char *engine, bool first_step, bool tried, TimestampTz *outage_deadline,
				 StepResult *result)
{
	TimestampTz since;

	if (!engine_offline_since(engine, &since))
		return true;
	if (first_step)
	{
		/* the step's own retries go on: its run met the outage, or it was due its probe */
		if (tried || engine_probe_turn(engine))
			return true;
		step_fail(result, FAIL_OFFLINE,
				  "the engine is offline: unreachable since %s, and probed until it answers",
				  timestamptz_to_str(since));
		return false;
	}
	if (outage_left(outage_deadline))
		(void) engine_outage_wait(engine, *outage_deadline);
	return true;
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
		/* an error inside a step's own short transaction (export_rows...) must not leave it open */
		AbortOutOfAnyTransaction();
		MemoryContextSwitchTo(cxt);
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
	const char *engine = ctx->engine_name ? ctx->engine_name : "";
	bool		first_step = idx == ctx->reachability_step;
	TimestampTz outage_deadline = 0;	/* set when an outage first stops this step */
	bool		tried = false;
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
		bool		turned_away = false;

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
		else if (!engine_reachable(engine, first_step, tried, &outage_deadline, result))
			turned_away = true;
		else if (ctx->session_open || (ctx->session_open = driver->begin(&ctx->step, result)))
			call_step(ctx, function, result);
		tried = true;
		MemoryContextSwitchTo(old);

		/* the outcome outlives this attempt's memory */
		result->message = MemoryContextStrdup(ctx->cxt, result->message ? result->message : "");
		if (result->status != STEP_FAILED || turned_away ||
			(result->kind != FAIL_TRANSIENT && result->kind != FAIL_OFFLINE))
			break;
		/* past the first step, an outage is waited out (engine_reachable), not an attempt */
		if (result->kind == FAIL_OFFLINE && !first_step && outage_left(&outage_deadline))
		{
			TimestampTz since;

			/* an outage not kept (every entry in use) is waited out here */
			if (!engine_offline_since(engine, &since))
				worker_sleep(prov_engine_probe_interval_ms);
			continue;
		}
		if (step->attempts >= 1 + prov_http_retries)
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
