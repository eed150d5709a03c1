/*
 * run.c
 *     A run worker: executes one provisioning run, step by step.
 *
 * The launcher starts one dynamic background worker per runnable run. The worker takes
 * the run's advisory lock for the life of its session, so a run never has two workers,
 * and then repeats: call the engine with no transaction open, then record the step's
 * outcome and the start of the next steps in one short transaction. A step that was
 * running when the server stopped is executed again when the run resumes; steps check
 * the engine before they create, so nothing is made twice.
 *
 * A step starts once every step it depends on (the step catalog's depends_on) settled.
 * When several are ready, the run worker executes one itself and starts a step worker for
 * each other one (provisioning.max_parallel_steps at once): a dynamic background worker
 * that holds the step's advisory lock, executes that one step with its retries exactly as
 * the run worker would, records its outcome, and exits. The postmaster sets the run
 * worker's latch when a step worker exits (bgw_notify_pid); the run worker then reads the
 * outcomes and metadata the step workers recorded. A step whose worker died without
 * recording, or could not start, is executed by the run worker itself.
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
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "json.h"
#include "provisioning.h"
#include "run_events.h"

/* An engine's quickest answer (ms) from which a run's independent steps run at once */
#define PARALLEL_MIN_REQUEST_MS 5

/* Resumes of one step (crash restarts) tolerated beyond its retries before giving up */
#define MAX_INTERRUPTIONS 5

/* How long a run worker with nothing to do waits for work before it exits */
#define WORKER_IDLE_MS 10000

static SPIPlanPtr record_plan = NULL;

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

static bool
meta_written(RunContext *ctx, const char *key)
{
	ListCell   *lc;

	foreach(lc, ctx->meta_written)
		if (strcmp((char *) lfirst(lc), key) == 0)
			return true;
	return false;
}

/* Sets key; a key this process wrote is recorded with its next step boundary. */
static void
meta_put(RunContext *ctx, const char *key, const char *value, bool written)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);
	bool		found = false;

	if (value == NULL)
		value = "";
	for (int i = 0; i + 1 < list_length(ctx->metadata) && !found; i += 2)
		if (strcmp((char *) list_nth(ctx->metadata, i), key) == 0)
		{
			list_nth_cell(ctx->metadata, i + 1)->ptr_value = pstrdup(value);
			found = true;
		}
	if (!found)
		ctx->metadata = lappend(lappend(ctx->metadata, pstrdup(key)), pstrdup(value));
	if (written && !meta_written(ctx, key))
		ctx->meta_written = lappend(ctx->meta_written, pstrdup(key));
	MemoryContextSwitchTo(old);
}

void
meta_set(RunContext *ctx, const char *key, const char *value)
{
	meta_put(ctx, key, value, true);
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
 * could be it: one sent without an answer less than provisioning.write_settle_ms ago (by
 * this step, or by an earlier run of the tenant: earlier_creates), or, in a resumed run, any
 * create in the first write_settle_ms. A step creates in a fixed order after looking each
 * document up, so a create of another target means this step's unanswered one was found: it
 * is settled too.
 */
bool
create_allowed(RunContext *ctx, const char *target)
{
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	if (ctx->unsettled_since != 0)
	{
		if (TimestampDifferenceExceeds(ctx->unsettled_since, now, prov_write_settle_ms) ||
			(ctx->unsettled_target != NULL && strcmp(ctx->unsettled_target, target) != 0))
		{
			ctx->unsettled_since = 0;
			ctx->unsettled_target = NULL;
		}
		else
		{
			ctx->settle_from = ctx->unsettled_since;
			return false;
		}
	}
	foreach(lc, ctx->earlier_creates)
	{
		UnsettledCreate *u = (UnsettledCreate *) lfirst(lc);

		if (strcmp(u->target, target) == 0 &&
			!TimestampDifferenceExceeds(u->sent_at, now, prov_write_settle_ms))
		{
			ctx->settle_from = u->sent_at;
			return false;
		}
	}
	return true;
}

/*
 * The create of target, sent at ctx->write_sent_at, got no answer. It is kept at once, in a
 * transaction of its own: the run may end before the engine applies it, and the tenant's
 * next run must not create it again meanwhile (a retry comes sooner than write_settle_ms).
 */
void
write_unanswered(RunContext *ctx, const char *target)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, UUIDOID};
	Datum		values[4];

	ctx->unsettled_since = ctx->write_sent_at;
	ctx->unsettled_target = MemoryContextStrdup(ctx->cxt, target);

	worker_txn_begin(ctx->steps[ctx->current].key);
	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(ctx->tenant_id));
	values[1] = CStringGetTextDatum(target);
	values[2] = TimestampTzGetDatum(ctx->write_sent_at);
	values[3] = UUIDPGetDatum(&ctx->run_id);
	worker_plan(&plan, "the unanswered create statement",
				"INSERT INTO provisioning.unsettled_creates (tenant_id, target, sent_at, run_id)"
				" VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, target) DO UPDATE"
				" SET sent_at = greatest(unsettled_creates.sent_at, excluded.sent_at), run_id = excluded.run_id",
				4, types);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record an unanswered create");
	worker_txn_commit();
}

/* Waits a little before the unsettled create is looked for again. */
void
settle_pause(RunContext *ctx, const char *target)
{
	long		left = prov_write_settle_ms -
		TimestampDifferenceMilliseconds(ctx->settle_from, GetCurrentTimestamp());

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("%s: waiting for the engine to apply an unanswered create (%s)",
									ctx->steps[ctx->current].key, target));
	sleep_ms(Max(1, Min(left, Min(Max(prov_write_settle_ms / 20, 100), 2000))));
}

/*
 * Makes sure c's target exists: looks it up, and creates it only when it is missing. A
 * create whose answer never came, or came unreadable, may still be applied by the engine: until
 * provisioning.write_settle_ms has passed since it was sent, the target is looked up again
 * instead of created again (create_allowed); if it has not appeared by then, the step
 * fails transiently and its next attempt creates it. A conflict means it appeared
 * meanwhile.
 */
bool
create_once(RunContext *ctx, StepResult *r, const CreateOnce *c, bool *created)
{
	char	   *unanswered = NULL;	/* why the create's fate is unknown */
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
			step_fail(r, FAIL_TRANSIENT, "the create of %s got no answer that tells its fate (%s), and it did not appear within %d ms",
					  c->target, unanswered, prov_write_settle_ms);
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
				unanswered = r->message ? r->message : "";
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

/*
 * An answer that is not what the request answers (not JSON, wrong types, a missing or
 * nonsensical id) fails the attempt, to be retried: never read as "absent" or "made".
 */
bool
step_malformed(StepResult *result, const char *request, const char *what)
{
	step_fail(result, FAIL_TRANSIENT, "%s: the engine's answer is malformed: %s", request, what);
	return false;
}

/* ---------------------------------------------------------------- recording */

/*
 * The metadata this process wrote since it last recorded: steps executed at once by other
 * processes record theirs, and each merges into the run's (record_in_txn).
 */
static char *
metadata_json(RunContext *ctx)
{
	JsonWriter	w;
	ListCell   *lc;

	jw_open(&w, '{');
	foreach(lc, ctx->meta_written)
		jw_str(&w, lfirst(lc), meta_get(ctx, lfirst(lc)));
	jw_close(&w, '}');
	return w.buf.data;
}

/*
 * One step boundary, in the open transaction: the outcome of step (or its retry when
 * status is "retrying"), the start of step next, the metadata this process wrote merged
 * into the run's, and the run's end when run_status is set (kind: why it failed). step
 * and next are indexes, -1 for none. A critical step that failed before the run's end
 * leaves its kind in error_kind until the run ends, surviving a crash meanwhile.
 */
static void
record_in_txn(RunContext *ctx, int step, const char *status, int attempts, const char *message,
			  double duration_ms, int next, const RunStatus *run_status, FailKind kind)
{
	Oid			types[10] = {UUIDOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	const char *kind_name = fail_kind_names[kind];
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

	/* the row lock serializes the boundaries of steps recorded at once */
	worker_plan(&record_plan, "the step record statement",
				"SELECT provisioning._step_record($1, $2, $3, $4, $5, $6, "
				"(SELECT o.provisioning_metadata FROM provisioning.tenant_onboarding o"
				"  WHERE o.id = $1 FOR UPDATE) || $7::jsonb, $8, $9, $10)",
				10, types);
	rc = SPI_execute_plan(record_plan, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "recording a step failed: %s", SPI_result_code_string(rc));
	list_free_deep(ctx->meta_written);
	ctx->meta_written = NIL;
	if (step >= 0 && run_status == NULL && kind_name != NULL && step_stops_run(&ctx->steps[step]))
	{
		Oid			kind_types[2] = {UUIDOID, TEXTOID};
		Datum		kind_values[2] = {values[0], values[9]};

		if (SPI_execute_with_args("UPDATE provisioning.tenant_onboarding"
								  "   SET error_kind = coalesce(error_kind, $2) WHERE id = $1",
								  2, kind_types, kind_values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "recording why a step failed failed");
	}
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
	/* everything in between is allocated in the transaction's memory */
	worker_txn_begin(ctx->steps[step].key);
	record_in_txn(ctx, step, status, attempts, message, duration_ms, next, run_status, kind);
	worker_txn_commit();
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

/* Step statuses, attempts and failure messages from a run's steps array. */
static void
load_steps(RunContext *ctx, JsonbContainer *steps)
{
	if (jb_array_length(steps) != ctx->nsteps)
		elog(ERROR, "the provisioning run's step list changed");
	for (int i = 0; i < ctx->nsteps; i++)
	{
		JsonbContainer *s = jb_array_object(steps, i);
		char	   *key = jb_text(s, "step");
		char	   *attempts = jb_text(s, "attempts");
		char	   *status = jb_text(s, "status");
		int			known = status ? step_status_of_name(status) : -1;

		if (key == NULL || known < 0 || (ctx->steps[i].key && strcmp(ctx->steps[i].key, key) != 0))
			elog(ERROR, "step %d of the provisioning run is malformed", i);
		ctx->steps[i].key = key;
		ctx->steps[i].critical = jb_bool(s, "critical", true);
		ctx->steps[i].attempts = attempts ? atoi(attempts) : 0;
		ctx->steps[i].status = (StepStatus) known;
		ctx->steps[i].message = known == STEP_FAILED ? jb_text(s, "message") : NULL;
	}
}

/*
 * Each step's dependencies as indexes, from the description's depends_on map (step ->
 * the steps it waits for), and its weight: how many steps wait for it. A dependency on a
 * step the run does not have, or on a later one (the position is a sequential run's
 * order), is none: every run can go on.
 */
static void
load_dependencies(RunContext *ctx, JsonbContainer *depends_on)
{
	if (ctx->nsteps > RUN_MAX_STEPS)
		elog(ERROR, "a provisioning run has at most %d steps", RUN_MAX_STEPS);
	for (int i = 0; i < ctx->nsteps; i++)
	{
		JsonbContainer *deps = depends_on ? jb_array(depends_on, ctx->steps[i].key) : NULL;
		int			n = deps ? jb_array_length(deps) : 0;

		ctx->steps[i].deps = palloc(sizeof(int) * Max(n, 1));
		ctx->steps[i].ndeps = 0;
		for (int j = 0; j < n; j++)
		{
			char	   *dep = jb_array_text(deps, j);

			for (int k = 0; k < i; k++)
				if (dep != NULL && strcmp(ctx->steps[k].key, dep) == 0)
					ctx->steps[i].deps[ctx->steps[i].ndeps++] = k;
		}
	}
	run_weigh_steps(ctx->steps, ctx->nsteps);
}

/* The index of the step the run's driver checks the engine's reach with, or -1 */
static int
reachability_step_of(RunContext *ctx)
{
	const EngineDriver *driver = ctx->engine_kind ? driver_for_kind(ctx->engine_kind) : NULL;

	for (int i = 0; driver != NULL && driver->reachability_step != NULL && i < ctx->nsteps; i++)
		if (strcmp(ctx->steps[i].key, driver->reachability_step) == 0)
			return i;
	return -1;
}

/*
 * The tenant's unanswered creates of earlier runs that the engine may still apply (sent less
 * than write_settle_ms ago), in the open transaction. A run's begin also forgets the tenant's
 * older ones: they can no longer land.
 */
static void
load_earlier_creates(RunContext *ctx, bool begin)
{
	static SPIPlanPtr plans[2] = {NULL, NULL};
	Oid			types[2] = {UUIDOID, INT4OID};
	Datum		values[2];
	MemoryContext old;

	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(ctx->tenant_id));
	values[1] = Int32GetDatum(prov_write_settle_ms);
	worker_plan(&plans[begin], "the unanswered creates' query",
				begin ? "WITH settled AS (DELETE FROM provisioning.unsettled_creates"
				"  WHERE tenant_id = $1 AND sent_at <= pg_catalog.clock_timestamp() - $2 * interval '1 ms')"
				" SELECT target, sent_at FROM provisioning.unsettled_creates"
				"  WHERE tenant_id = $1 AND sent_at > pg_catalog.clock_timestamp() - $2 * interval '1 ms'"
				: "SELECT target, sent_at FROM provisioning.unsettled_creates"
				"  WHERE tenant_id = $1 AND sent_at > pg_catalog.clock_timestamp() - $2 * interval '1 ms'",
				2, types);
	if (SPI_execute_plan(plans[begin], values, NULL, !begin, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the tenant's unanswered creates");
	/* SPI left its own context current: the list lives as long as the run */
	old = MemoryContextSwitchTo(ctx->cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		UnsettledCreate *u = palloc(sizeof(UnsettledCreate));
		bool		isnull;

		u->target = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		u->sent_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		ctx->earlier_creates = lappend(ctx->earlier_creates, u);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Reads the run into a RunContext in a new child of parent, in the open transaction:
 * begins (or resumes) it with begin (_run_begin), only describes it without (a step
 * worker: _run_describe). NULL when the run finished or was cancelled meanwhile.
 */
static RunContext *
run_load(MemoryContext parent, const pg_uuid_t *run_id, bool begin)
{
	static SPIPlanPtr plans[2] = {NULL, NULL};
	MemoryContext cxt;
	MemoryContext old;
	RunContext *ctx;
	char	   *described;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	Jsonb	   *doc;
	JsonbContainer *engine;
	bool		isnull;
	Datum		d;
	text	   *t;

	worker_plan(&plans[begin], "the run begin statement",
				begin ? "SELECT provisioning._run_begin($1)::text"
				: "SELECT provisioning._run_describe($1)::text", 1, types);
	values[0] = UUIDPGetDatum(run_id);
	if (SPI_execute_plan(plans[begin], values, NULL, !begin, 1) != SPI_OK_SELECT || SPI_processed > 1)
		elog(ERROR, "could not load the provisioning run");
	if (SPI_processed == 0)
		return NULL;
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
	ctx->error_kind = fail_kind_of_name(jb_text(&doc->root, "error_kind"));
	if (jb_bool(&doc->root, "resumed", false))
		ctx->resumed_at = GetCurrentTimestamp();

	ctx->nsteps = jb_array_length(jb_array(&doc->root, "steps"));
	ctx->steps = palloc0(sizeof(RunStep) * Max(ctx->nsteps, 1));
	load_steps(ctx, jb_array(&doc->root, "steps"));
	load_dependencies(ctx, jb_object(&doc->root, "depends_on"));

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
	ctx->reachability_step = reachability_step_of(ctx);
	/* the description and its parsed form held the credentials */
	explicit_bzero(described, strlen(described));
	explicit_bzero(doc, VARSIZE(doc));
	load_earlier_creates(ctx, begin);
	MemoryContextSwitchTo(old);
	return ctx;
}

/* ---------------------------------------------------------------- executing */

/* Reads the configuration again when a SIGHUP asked for it. */
static void
reload_if_pending(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* Sleeps with the latch: interrupts, reloads and postmaster death are served. */
static void
sleep_ms(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	worker_flush_owed();
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
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
		record(ctx, idx, step_retrying_name, step->attempts + 1, message, 0, -1, NULL, FAIL_NONE);
		step->attempts++;
		run_event_activity(ctx, idx);
	}
	MemoryContextDelete(attempt_cxt);
}

/*
 * Notes which step workers are gone (exited) and which foreign steps no step worker holds
 * any more; true when some step was in other hands, and the run must be read again. Read
 * after this, a step still running whose worker is gone was left unrecorded.
 */
static bool
note_exits(RunContext *ctx)
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
		others |= s->worker != NULL || s->foreign;
	}
	return others;
}

/*
 * Reads the outcomes and metadata other processes recorded, in the open transaction
 * (locking the run's row: no step boundary comes in between until it commits). Step
 * skip is this worker's own, about to be recorded.
 */
static void
refresh_run(RunContext *ctx, int skip)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {UUIDPGetDatum(&ctx->run_id)};
	MemoryContext old;
	RunStep    *own = NULL;
	RunStep		saved;
	Jsonb	   *steps;
	Jsonb	   *metadata;
	List	   *members;
	char	   *text;
	char	   *kind;

	worker_plan(&plan, "the run refresh statement",
				"SELECT provisioning_steps::text, provisioning_metadata::text, error_kind"
				"  FROM provisioning.tenant_onboarding WHERE id = $1 FOR UPDATE", 1, types);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the provisioning run");
	old = MemoryContextSwitchTo(ctx->cxt);
	text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	steps = jb_parse(text, strlen(text));
	text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	metadata = jb_parse(text, strlen(text));
	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (steps == NULL || metadata == NULL)
		elog(ERROR, "the provisioning run's steps or metadata are not JSON");
	if (skip >= 0)
	{
		own = &ctx->steps[skip];
		saved = *own;
	}
	load_steps(ctx, &steps->root);
	if (own != NULL)
		*own = saved;
	members = jb_string_members(&metadata->root);
	for (int i = 0; i + 1 < list_length(members); i += 2)
		if (!meta_written(ctx, list_nth(members, i)))
			meta_put(ctx, list_nth(members, i), list_nth(members, i + 1), false);
	if (ctx->error_kind == FAIL_NONE)
		ctx->error_kind = fail_kind_of_name(kind);
	MemoryContextSwitchTo(old);

	for (int i = 0; i < ctx->nsteps; i++)
	{
		RunStep    *s = &ctx->steps[i];

		/*
		 * A step worker counts until it exited (its last log line is written by then); one
		 * gone with its step still running died without recording: executed again, resumed.
		 */
		if ((s->worker == NULL && !s->foreign) || !s->exited)
			continue;
		if (s->worker != NULL)
			pfree(s->worker);
		s->worker = NULL;
		s->foreign = false;
		s->exited = false;
		s->resumed = s->status == STEP_RUNNING;
	}
}

/*
 * A step boundary, in the open transaction: records the outcome of step done (-1 for
 * none: the run begins, or a step worker exited), decides which ready steps start (the
 * ones most steps wait for first; provisioning.max_parallel_steps at once, counting those
 * in flight), records their start, and the run's end once every step settled or a
 * critical one failed and nothing is in flight.
 */
static void
run_plan(RunContext *ctx, int done, const StepResult *result, double duration_ms, RunPlan *plan)
{
	int			first = -1;

	/*
	 * A step worker costs a process start and a connection, more than a few of a fast
	 * engine's answers: steps run at once only when every answer of this run's engine so far
	 * was slow (the quickest one: a single slow answer is more often a busy machine), and no
	 * queued run waits for a worker.
	 */
	int			parallel = (prov_max_parallel_steps > 1 && ctx->http.requests > 0 &&
							ctx->http.fastest_ms >= PARALLEL_MIN_REQUEST_MS && !runs_waiting()) ?
		prov_max_parallel_steps : 1;

	if (note_exits(ctx))
		refresh_run(ctx, done);
	if (done >= 0)
	{
		ctx->steps[done].status = result->status;
		ctx->steps[done].message = result->status == STEP_FAILED ? result->message : NULL;
		if (step_stops_run(&ctx->steps[done]) && ctx->error_kind == FAIL_NONE)
			ctx->error_kind = result->kind;
	}
	run_next(ctx->steps, ctx->nsteps, parallel, ctx->reachability_step, ctx->error_kind, plan);

	/* the first start goes with the outcome; steps whose start is recorded keep it */
	for (int i = -1; i < plan->ndelegate && first < 0; i++)
	{
		int			step = i < 0 ? plan->own : plan->delegate[i];

		if (step >= 0 && !ctx->steps[step].started)
			first = step;
	}
	if (done >= 0 || first >= 0 || plan->ends)
		record_in_txn(ctx, done, done >= 0 ? step_status_names[result->status] : NULL,
					  done >= 0 ? ctx->steps[done].attempts : 0, done >= 0 ? result->message : NULL,
					  duration_ms, first, plan->ends ? &plan->end : NULL,
					  plan->ends ? ctx->error_kind : done >= 0 ? result->kind : FAIL_NONE);
	if (first >= 0)
		ctx->steps[first].started = true;
	for (int i = -1; i < plan->ndelegate; i++)
	{
		int			step = i < 0 ? plan->own : plan->delegate[i];

		if (step < 0 || ctx->steps[step].started)
			continue;
		record_in_txn(ctx, -1, NULL, 0, NULL, 0, step, NULL, FAIL_NONE);
		ctx->steps[step].started = true;
	}
}

/* Starts a step worker for step idx; false when no background worker slot was free. */
static bool
start_step_worker(RunContext *ctx, const EngineDriver *driver, int idx)
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
	if (ctx->session_open && driver != NULL && driver->share != NULL)
	{
		driver->share(ctx, assignment.share);
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
static void
wait_for_steps(RunContext *ctx)
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
	if (claimed && (ctx = run_load(parent, &run_id, true)) == NULL)
		run_lock_release(&run_id);
	if (ctx != NULL)
	{
		for (int i = 0; i < ctx->nsteps; i++)
			if (ctx->steps[i].status == STEP_RUNNING)
			{
				ctx->steps[i].foreign = !step_lock_available(&ctx->run_id, i);
				ctx->steps[i].resumed = resumed = true;
			}
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
		pg_atomic_write_u64(&prov_delegated_engine_us[MyProc->pgprocno], 0);
		run_event_run_started(ctx, resumed);
	}
	return ctx;
}

/* Executes a claimed run, as planned at its claim, to its end. */
static void
run_execute(RunContext *ctx, RunPlan *plan)
{
	const EngineDriver *driver = ctx->engine_kind ? driver_for_kind(ctx->engine_kind) : NULL;

	for (;;)
	{
		reload_if_pending();
		/* a step worker's requests come after the start recorded for it is on disk */
		if (plan->ndelegate > 0)
			worker_flush_owed();
		for (int i = 0; i < plan->ndelegate; i++)
			(void) start_step_worker(ctx, driver, plan->delegate[i]);
		if (plan->ends)
		{
			ctx->delegated_engine_ms =
				pg_atomic_read_u64(&prov_delegated_engine_us[MyProc->pgprocno]) / 1000.0;
			run_event_run_finished(ctx, plan->end);
			return;
		}
		/*
		 * The step's lock, like a step worker's: a step worker of an earlier run worker
		 * that was registered but had not started yet finds the step taken, and one that
		 * holds it makes the step foreign.
		 */
		if (plan->own >= 0 && !step_lock_try(&ctx->run_id, plan->own))
		{
			ctx->steps[plan->own].foreign = true;
			ctx->steps[plan->own].started = false;
		}
		else if (plan->own >= 0)
		{
			int			cur = plan->own;
			StepResult	result;
			TimestampTz start = GetCurrentTimestamp();
			double		duration_ms;

			ctx->steps[cur].started = false;
			execute_step(ctx, driver, cur, &result);
			duration_ms = (GetCurrentTimestamp() - start) / 1000.0;
			worker_txn_begin(ctx->steps[cur].key);
			run_plan(ctx, cur, &result, duration_ms, plan);
			boundary_commit(plan);
			step_lock_release(&ctx->run_id, cur);
			run_event_step_finished(ctx, cur, &result, duration_ms);
			continue;
		}
		else
			wait_for_steps(ctx);
		worker_txn_begin("reading the outcomes of the run's step workers");
		run_plan(ctx, -1, NULL, 0, plan);
		boundary_commit(plan);
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
	http_sent_hook = worker_flush_owed;
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
	const EngineDriver *driver;
	StepResult	result;
	TimestampTz start;
	double		duration_ms;
	int			idx;

	memcpy(&assignment, MyBgworkerEntry->bgw_extra, sizeof(assignment));
	idx = assignment.step;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname("provisioning step");

	worker_txn_begin("loading a provisioning step");
	if (step_lock_try(&assignment.run_id, idx))
		ctx = run_load(TopMemoryContext, &assignment.run_id, false);
	worker_txn_commit();
	if (ctx == NULL || idx < 0 || idx >= ctx->nsteps || ctx->steps[idx].status != STEP_RUNNING)
		proc_exit(0);
	MemoryContextSwitchTo(ctx->cxt);

	ctx->steps[idx].resumed = assignment.resumed;
	ctx->resumed_at = assignment.resumed_at;
	ctx->session_share = assignment.has_share ? assignment.share : NULL;
	driver = ctx->engine_kind ? driver_for_kind(ctx->engine_kind) : NULL;
	start = GetCurrentTimestamp();
	execute_step(ctx, driver, idx, &result);
	duration_ms = (GetCurrentTimestamp() - start) / 1000.0;
	ctx->steps[idx].status = result.status;
	record(ctx, idx, step_status_names[result.status], ctx->steps[idx].attempts, result.message,
		   duration_ms, -1, NULL, result.status == STEP_FAILED ? result.kind : FAIL_NONE);
	run_event_step_finished(ctx, idx, &result, duration_ms);
	if (assignment.coordinator >= 0 && assignment.coordinator < MaxBackends)
		pg_atomic_fetch_add_u64(&prov_delegated_engine_us[assignment.coordinator],
								(uint64) (ctx->http.elapsed_ms * 1000.0));
	MemoryContextSwitchTo(TopMemoryContext);
	run_forget(ctx);
	proc_exit(0);
}
