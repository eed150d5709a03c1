/*
 * run.c
 *     A run worker: executes one provisioning run, step by step.
 *
 * The launcher starts one dynamic background worker per runnable run. The worker takes
 * the run's advisory lock for the life of its session, so a run never has two workers,
 * and then repeats: call the engine with no transaction open, then record the step's
 * outcome and the start of the next step in one short transaction. A step that was
 * running when the server stopped is executed again when the run resumes; steps check
 * the engine before they create, so nothing is made twice.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "json.h"
#include "provisioning.h"
#include "run_events.h"

/* Resumes of one step (crash restarts) tolerated beyond its retries before giving up */
#define MAX_INTERRUPTIONS 5

/* How long a run worker with nothing to do waits for work before it exits */
#define WORKER_IDLE_MS 10000

static SPIPlanPtr record_plan = NULL;

static void sleep_ms(long ms);

/* ---------------------------------------------------------------- helpers for drivers */

const char *
config_text(RunContext *ctx, const char *key)
{
	return jb_text(ctx->config, key);
}

bool
config_bool(RunContext *ctx, const char *key)
{
	return jb_bool(ctx->config, key, false);
}

const char *
meta_get(RunContext *ctx, const char *key)
{
	for (int i = 0; i + 1 < list_length(ctx->metadata); i += 2)
		if (strcmp((char *) list_nth(ctx->metadata, i), key) == 0)
			return (const char *) list_nth(ctx->metadata, i + 1);
	return NULL;
}

void
meta_set(RunContext *ctx, const char *key, const char *value)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);

	if (value == NULL)
		value = "";
	for (int i = 0; i + 1 < list_length(ctx->metadata); i += 2)
		if (strcmp((char *) list_nth(ctx->metadata, i), key) == 0)
		{
			list_nth_cell(ctx->metadata, i + 1)->ptr_value = pstrdup(value);
			MemoryContextSwitchTo(old);
			return;
		}
	ctx->metadata = lappend(lappend(ctx->metadata, pstrdup(key)), pstrdup(value));
	MemoryContextSwitchTo(old);
}

/* The status of step in this run; pending for a step the run does not have. */
StepStatus
step_status_of(RunContext *ctx, const char *step)
{
	for (int i = 0; i < ctx->nsteps; i++)
		if (strcmp(ctx->steps[i].key, step) == 0)
			return ctx->steps[i].status;
	return STEP_PENDING;
}

/*
 * May target be created now? Not while a create that may still be applied by the engine
 * could be it: one sent without an answer less than provisioning.write_settle_ms ago, or,
 * in a resumed run, any create in the first write_settle_ms. A step creates in a fixed
 * order after looking each document up, so a create of another target means the
 * unanswered one was found: it is settled too.
 */
bool
create_allowed(RunContext *ctx, const char *target)
{
	if (ctx->unsettled_since == 0)
		return true;
	if (TimestampDifferenceExceeds(ctx->unsettled_since, GetCurrentTimestamp(), prov_write_settle_ms) ||
		(ctx->unsettled_target != NULL && strcmp(ctx->unsettled_target, target) != 0))
	{
		ctx->unsettled_since = 0;
		ctx->unsettled_target = NULL;
		return true;
	}
	return false;
}

/* The create of target, sent at ctx->write_sent_at, got no answer. */
void
write_unanswered(RunContext *ctx, const char *target)
{
	ctx->unsettled_since = ctx->write_sent_at;
	ctx->unsettled_target = MemoryContextStrdup(ctx->cxt, target);
}

/* Waits a little before the unsettled create is looked for again. */
void
settle_pause(RunContext *ctx, const char *target)
{
	long		left = prov_write_settle_ms -
		TimestampDifferenceMilliseconds(ctx->unsettled_since, GetCurrentTimestamp());

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("%s: waiting for the engine to apply an unanswered create (%s)",
									ctx->steps[ctx->current].key, target));
	sleep_ms(Max(1, Min(left, Min(Max(prov_write_settle_ms / 20, 100), 2000))));
}

/*
 * Makes sure c's target exists: looks it up, and creates it only when it is missing. A
 * create whose answer never came may still be applied by the engine: until
 * provisioning.write_settle_ms has passed since it was sent, the target is looked up again
 * instead of created again (create_allowed); if it has not appeared by then, the step
 * fails transiently and its next attempt creates it. A conflict means it appeared
 * meanwhile.
 */
bool
create_once(RunContext *ctx, StepResult *r, const CreateOnce *c, bool *created)
{
	bool		unanswered = false;
	bool		conflict = false;
	bool		found;

	*created = false;
	for (;;)
	{
		if (!c->lookup(ctx, r, c->arg, &found))
			return false;
		if (found)
			return true;
		if (conflict)
		{
			step_fail(r, FAIL_PERMANENT, "%s: the engine reported a conflict, yet %s cannot be found",
					  c->request, c->target);
			return false;
		}
		if (!create_allowed(ctx, c->target))
		{
			settle_pause(ctx, c->target);
			continue;
		}
		if (unanswered)
		{
			step_fail(r, FAIL_TRANSIENT, "the create of %s got no answer and it did not appear within %d ms",
					  c->target, prov_write_settle_ms);
			return false;
		}
		switch (c->create(ctx, r, c->arg))
		{
			case CREATE_MADE:
				*created = true;
				return true;
			case CREATE_CONFLICT:
				conflict = true;
				break;
			case CREATE_UNKNOWN:
				write_unanswered(ctx, c->target);
				unanswered = true;
				break;
			case CREATE_FAILED:
				return false;
		}
	}
}

/*
 * Success. A document found on re-check after this step already sent a creating
 * request was made by that request (its answer was lost): that is "completed" too.
 */
static char *
vformat(const char *fmt, va_list args)
pg_attribute_printf(1, 0);

static char *
vformat(const char *fmt, va_list args)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&buf, fmt, copy);
		va_end(copy);
		if (needed == 0)
			return buf.data;
		enlargeStringInfo(&buf, needed);
	}
}

void
step_done(RunContext *ctx, StepResult *result, bool created, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	result->message = vformat(fmt, args);
	va_end(args);
	result->status = (created || ctx->create_sent) ? STEP_COMPLETED : STEP_EXISTS;
	result->kind = FAIL_NONE;
}

void
step_fail(StepResult *result, FailKind kind, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	result->message = vformat(fmt, args);
	va_end(args);
	result->status = STEP_FAILED;
	result->kind = kind;
}

/* ---------------------------------------------------------------- recording */

static const char *
fail_kind_name(FailKind kind)
{
	switch (kind)
	{
		case FAIL_TRANSIENT:
			return "transient";
		case FAIL_PERMANENT:
			return "permanent";
		case FAIL_OFFLINE:
			return "offline";
		case FAIL_NONE:
			break;
	}
	return NULL;
}

static char *
metadata_json(RunContext *ctx)
{
	JsonWriter	w;

	jw_open(&w, '{');
	for (int i = 0; i + 1 < list_length(ctx->metadata); i += 2)
		jw_str(&w, list_nth(ctx->metadata, i), list_nth(ctx->metadata, i + 1));
	jw_close(&w, '}');
	return w.buf.data;
}

/*
 * One step boundary, in the open transaction: the outcome of step (or its retry when
 * status is "retrying"), the start of step next, the metadata, and the run's end when
 * run_status is set. step and next are indexes, -1 for none.
 */
static void
record_in_txn(RunContext *ctx, int step, const char *status, int attempts, const char *message,
			  double duration_ms, int next, const RunStatus *run_status, FailKind kind)
{
	Oid			types[10] = {UUIDOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	const char *kind_name = fail_kind_name(kind);
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = UUIDPGetDatum(&ctx->run_id);
	if (step >= 0)
	{
		values[1] = CStringGetTextDatum(ctx->steps[step].key);
		values[2] = CStringGetTextDatum(status);
		values[3] = Int32GetDatum(attempts);
		values[5] = Float8GetDatum(duration_ms);
	}
	else
		nulls[1] = nulls[2] = nulls[3] = nulls[5] = 'n';
	if (message)
		values[4] = CStringGetTextDatum(message);
	else
		nulls[4] = 'n';
	values[6] = CStringGetTextDatum(metadata_json(ctx));
	if (next >= 0)
		values[7] = CStringGetTextDatum(ctx->steps[next].key);
	else
		nulls[7] = 'n';
	if (run_status)
		values[8] = CStringGetTextDatum(run_status_names[*run_status]);
	else
		nulls[8] = 'n';
	if (kind_name)
		values[9] = CStringGetTextDatum(kind_name);
	else
		nulls[9] = 'n';

	if (record_plan == NULL)
	{
		record_plan = SPI_prepare("SELECT provisioning._step_record($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
								  10, types);
		if (record_plan == NULL || SPI_keepplan(record_plan) != 0)
			elog(ERROR, "could not prepare the step record statement: %s",
				 SPI_result_code_string(SPI_result));
	}
	rc = SPI_execute_plan(record_plan, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "recording a step failed: %s", SPI_result_code_string(rc));
	if (next >= 0)
	{
		ctx->steps[next].status = STEP_RUNNING;
		ctx->steps[next].attempts++;
	}
}

/* One step boundary in one transaction of its own (record_in_txn) */
static void
record(RunContext *ctx, int step, const char *status, int attempts, const char *message,
	   double duration_ms, int next, const RunStatus *run_status, FailKind kind)
{
	TimestampTz start = GetCurrentTimestamp();

	/* everything in between is allocated in the transaction's memory */
	worker_txn_begin(ctx->steps[step].key);
	record_in_txn(ctx, step, status, attempts, message, duration_ms, next, run_status, kind);
	worker_txn_commit();
	ctx->record_ms += (GetCurrentTimestamp() - start) / 1000.0;
}

/* ---------------------------------------------------------------- loading */

/* A Unix epoch in seconds as a timestamp; now when there is none */
static TimestampTz
epoch_timestamp(const char *epoch)
{
	if (epoch == NULL)
		return GetCurrentTimestamp();
	return (TimestampTz) ((strtod(epoch, NULL) -
						   (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC);
}

/*
 * Begins (or resumes) the run in the open transaction and reads what it needs into a
 * RunContext in a new child of parent; NULL when the run finished or was cancelled
 * meanwhile.
 */
static RunContext *
run_begin(MemoryContext parent, const pg_uuid_t *run_id)
{
	static SPIPlanPtr begin_plan = NULL;
	MemoryContext cxt;
	MemoryContext old;
	RunContext *ctx;
	char	   *described;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	Jsonb	   *doc;
	JsonbContainer *steps;
	JsonbContainer *engine;
	bool		isnull;
	Datum		d;
	text	   *t;

	if (begin_plan == NULL)
	{
		begin_plan = SPI_prepare("SELECT provisioning._run_begin($1)::text", 1, types);
		if (begin_plan == NULL || SPI_keepplan(begin_plan) != 0)
			elog(ERROR, "could not prepare the run begin statement: %s",
				 SPI_result_code_string(SPI_result));
	}
	values[0] = UUIDPGetDatum(run_id);
	if (SPI_execute_plan(begin_plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not load the provisioning run");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;			/* finished or cancelled meanwhile */

	cxt = AllocSetContextCreate(parent, "provisioning run", ALLOCSET_DEFAULT_SIZES);
	t = DatumGetTextPP(d);
	described = MemoryContextAlloc(cxt, VARSIZE_ANY_EXHDR(t) + 1);
	memcpy(described, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	described[VARSIZE_ANY_EXHDR(t)] = '\0';
	/* the description holds the engine's credentials */
	explicit_bzero(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	old = MemoryContextSwitchTo(cxt);
	ctx = palloc0(sizeof(RunContext));
	ctx->cxt = cxt;
	memcpy(&ctx->run_id, run_id, sizeof(pg_uuid_t));
	doc = jb_parse(described, strlen(described));
	if (doc == NULL)
		elog(ERROR, "the provisioning run's description is not JSON");
	ctx->correlation_id = jb_text(&doc->root, "correlation_id");
	ctx->tenant_id = jb_text(&doc->root, "tenant_id");
	ctx->started_at = epoch_timestamp(jb_text(&doc->root, "started_at"));
	ctx->queued_ms = jb_text(&doc->root, "queued_ms") ? strtod(jb_text(&doc->root, "queued_ms"), NULL) : 0;
	ctx->config = jb_object_copy(&doc->root, "config");
	ctx->metadata = jb_string_members(jb_object(&doc->root, "metadata"));
	if (jb_bool(&doc->root, "resumed", false))
		ctx->unsettled_since = GetCurrentTimestamp();

	steps = jb_array(&doc->root, "steps");
	ctx->nsteps = jb_array_length(steps);
	ctx->steps = palloc0(sizeof(RunStep) * Max(ctx->nsteps, 1));
	for (int i = 0; i < ctx->nsteps; i++)
	{
		JsonbContainer *s = jb_array_object(steps, i);
		char	   *attempts = jb_text(s, "attempts");
		char	   *status = jb_text(s, "status");
		int			known = status ? step_status_of_name(status) : -1;

		ctx->steps[i].key = jb_text(s, "step");
		ctx->steps[i].critical = jb_bool(s, "critical", true);
		ctx->steps[i].attempts = attempts ? atoi(attempts) : 0;
		if (ctx->steps[i].key == NULL || known < 0)
			elog(ERROR, "step %d of the provisioning run is malformed", i);
		ctx->steps[i].status = (StepStatus) known;
	}

	engine = jb_object(&doc->root, "engine");
	if (engine != NULL)
	{
		ctx->engine_name = jb_text(engine, "name");
		ctx->engine_kind = jb_text(engine, "kind");
		ctx->base_url = http_base_url(jb_text(engine, "base_url"));
		ctx->api_key = jb_text(engine, "api_key");
		ctx->api_secret = jb_text(engine, "api_secret");
		ctx->options = jb_object_copy(engine, "options");
	}
	/* the description and its parsed form held the credentials */
	explicit_bzero(described, strlen(described));
	explicit_bzero(doc, VARSIZE(doc));
	MemoryContextSwitchTo(old);
	return ctx;
}

/* ---------------------------------------------------------------- executing */

/* Sleeps with the latch: interrupts, reloads and postmaster death are served. */
static void
sleep_ms(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

/* Exponential backoff with jitter; at least the engine's Retry-After. */
static long
backoff_ms(int attempt, int retry_after_s)
{
	double		base = Min(prov_http_retry_delay_ms * pow(2.0, attempt - 1), 60000.0);
	double		delay = base * (0.5 + 0.5 * pg_prng_double(&pg_global_prng_state));

	if (retry_after_s >= 0)
		delay = Max(delay, retry_after_s * 1000.0);
	return (long) delay;
}

void
backoff_sleep(int attempt, int retry_after_s)
{
	sleep_ms(backoff_ms(attempt, retry_after_s));
}

/* Calls the step's function; an ERROR raised inside fails the step instead of the worker. */
static void
call_step(RunContext *ctx, StepFunction function, StepResult *result)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		function(ctx, result);
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

/* Runs step idx until it succeeds, fails for good, or its retries are spent. */
static void
execute_step(RunContext *ctx, const EngineDriver *driver, int idx, StepResult *result)
{
	RunStep    *step = &ctx->steps[idx];
	MemoryContext attempt_cxt = AllocSetContextCreate(ctx->cxt, "provisioning step",
													  ALLOCSET_DEFAULT_SIZES);
	StepFunction function = driver ? driver_step(driver, step->key) : NULL;
	MemoryContext old;

	ctx->current = idx;
	ctx->create_sent = false;
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
		else if (ctx->session_open || (ctx->session_open = driver->begin(ctx, result)))
			call_step(ctx, function, result);
		MemoryContextSwitchTo(old);

		/* the outcome outlives this attempt's memory */
		result->message = MemoryContextStrdup(ctx->cxt, result->message ? result->message : "");
		if (result->status != STEP_FAILED ||
			(result->kind != FAIL_TRANSIENT && result->kind != FAIL_OFFLINE) ||
			step->attempts >= 1 + prov_http_retries)
			break;

		delay = backoff_ms(step->attempts, result->retry_after_s);
		message = psprintf("attempt %d failed: %s; retried after %ld ms",
						   step->attempts, result->message, delay);
		run_event_retry(ctx, idx, result, delay);
		sleep_ms(delay);
		/* recorded as the next attempt begins: a resume waits from there (_run_begin) */
		record(ctx, idx, "retrying", step->attempts + 1, message, 0, -1, NULL, FAIL_NONE);
		step->attempts++;
		run_event_activity(ctx, idx);
	}
	MemoryContextDelete(attempt_cxt);
}

/* The first step from idx on that still has to run (pending, or running when resumed). */
static int
next_runnable(RunContext *ctx, int idx)
{
	for (int i = idx; i < ctx->nsteps; i++)
		if (ctx->steps[i].status == STEP_PENDING || ctx->steps[i].status == STEP_RUNNING)
			return i;
	return -1;
}

static RunStatus
final_status(RunContext *ctx)
{
	for (int i = 0; i < ctx->nsteps; i++)
		if (!STEP_IS_DONE(ctx->steps[i].status))
			return RUN_PARTIAL;
	return RUN_COMPLETED;
}

/*
 * Claims a run and begins it in one transaction: takes its lock (the given run, or else
 * the oldest runnable run no worker holds), begins it, and records the start of its first
 * step, or its end when no step is left. NULL when there was no run to claim.
 */
static RunContext *
run_claim(MemoryContext parent, const pg_uuid_t *given)
{
	pg_uuid_t	ids[MAX_RUN_WORKERS];
	pg_uuid_t	run_id;
	bool		claimed = false;
	bool		held_back = false;
	bool		resumed = false;
	RunContext *ctx = NULL;
	TimestampTz start = GetCurrentTimestamp();

	worker_txn_begin("claiming a provisioning run");
	if (given != NULL)
	{
		memcpy(&run_id, given, sizeof(pg_uuid_t));
		claimed = run_lock_acquire(&run_id, true);
	}
	else
	{
		int			n = runnable_runs(ids, lengthof(ids), &held_back);

		for (int i = 0; i < n && !claimed; i++)
			if ((claimed = run_lock_acquire(&ids[i], true)))
				memcpy(&run_id, &ids[i], sizeof(pg_uuid_t));
	}
	if (claimed && (ctx = run_begin(parent, &run_id)) == NULL)
		run_lock_release(&run_id);
	if (ctx != NULL)
	{
		ctx->first = next_runnable(ctx, 0);
		resumed = ctx->first >= 0 && ctx->steps[ctx->first].status == STEP_RUNNING;
		if (ctx->first >= 0)
			record_in_txn(ctx, -1, NULL, 0, NULL, 0, ctx->first, NULL, FAIL_NONE);
		else
		{
			RunStatus	end = final_status(ctx);

			record_in_txn(ctx, -1, NULL, 0, NULL, 0, -1, &end, FAIL_NONE);
		}
	}
	worker_txn_commit();
	if (ctx != NULL)
	{
		ctx->record_ms = (GetCurrentTimestamp() - start) / 1000.0;
		run_event_run_started(ctx, resumed);
	}
	return ctx;
}

/* Executes a claimed run from its first step to its end. */
static void
run_execute(RunContext *ctx)
{
	const EngineDriver *driver = ctx->engine_kind ? driver_for_kind(ctx->engine_kind) : NULL;
	int			next = ctx->first;

	/* nothing was left to do: its end is recorded */
	if (next < 0)
	{
		run_event_run_finished(ctx, final_status(ctx));
		return;
	}

	while (next >= 0)
	{
		int			cur = next;
		StepResult	result;
		TimestampTz start = GetCurrentTimestamp();
		RunStatus	end;
		bool		ends = false;
		double		duration_ms;

		execute_step(ctx, driver, cur, &result);
		duration_ms = (GetCurrentTimestamp() - start) / 1000.0;
		ctx->steps[cur].status = result.status;

		if (result.status == STEP_FAILED && ctx->steps[cur].critical)
		{
			/* an engine out of reach at the very start: nothing was provisioned */
			next = -1;
			ends = true;
			end = (cur == 0 && result.kind == FAIL_OFFLINE) ? RUN_NOT_PROVISIONED : RUN_FAILED;
		}
		else
		{
			next = next_runnable(ctx, cur + 1);
			if ((ends = (next < 0)))
				end = final_status(ctx);
		}
		record(ctx, cur, step_status_names[result.status], ctx->steps[cur].attempts, result.message,
			   duration_ms, next, ends ? &end : NULL, result.status == STEP_FAILED ? result.kind : FAIL_NONE);
		run_event_step_finished(ctx, cur, &result, duration_ms);
		if (ends)
			run_event_run_finished(ctx, end);
	}
}

/* Ends a run's life in the worker: its connection, its credentials, its memory. */
static void
run_forget(RunContext *ctx)
{
	http_client_cleanup(&ctx->http);
	if (ctx->api_key)
		explicit_bzero(ctx->api_key, strlen(ctx->api_key));
	if (ctx->api_secret)
		explicit_bzero(ctx->api_secret, strlen(ctx->api_secret));
	MemoryContextDelete(ctx->cxt);
}

static bool counted_live = false;

static void
worker_detach(int code, Datum arg)
{
	(void) worker_idle_end();
	if (counted_live)
		pg_atomic_fetch_sub_u32(&prov_shared->live_workers, 1);
	counted_live = false;
}

/*
 * After provisioning.max_workers was lowered, the workers above it leave as they finish
 * a run; the launcher starts new ones only below it.
 */
static bool
too_many_workers(void)
{
	uint32		live = pg_atomic_read_u32(&prov_shared->live_workers);

	if (live <= (uint32) prov_max_workers)
		return false;
	/* leave, unless another surplus worker left meanwhile */
	if (!pg_atomic_compare_exchange_u32(&prov_shared->live_workers, &live, live - 1))
		return false;
	counted_live = false;
	return true;
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
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname("provisioning run");
	pg_atomic_fetch_add_u32(&prov_shared->live_workers, 1);
	counted_live = true;
	before_shmem_exit(worker_detach, 0);

	/* whatever a pass of the loop allocates goes with it: a reused worker stays flat */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "provisioning run loop",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loop_cxt);
	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		RunContext *ctx;
		bool		handed;

		MemoryContextReset(loop_cxt);
		ctx = run_claim(loop_cxt, first_pass ? &given : NULL);
		if (ctx == NULL && first_pass)
			ctx = run_claim(loop_cxt, NULL);
		first_pass = false;
		if (ctx != NULL)
		{
			pg_uuid_t	run_id = ctx->run_id;

			run_execute(ctx);
			run_forget(ctx);
			run_lock_release(&run_id);
			idle_since = GetCurrentTimestamp();
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
			}
			if (too_many_workers())
				proc_exit(0);
			continue;
		}
		if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), WORKER_IDLE_MS))
			proc_exit(0);

		pgstat_report_activity(STATE_IDLE, NULL);
		worker_idle_begin();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_IDLE_MS, PG_WAIT_EXTENSION);
		/* a committing backend that handed this worker a run keeps it from leaving */
		handed = worker_idle_end();
		if (handed)
			idle_since = GetCurrentTimestamp();
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}
