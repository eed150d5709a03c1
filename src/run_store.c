/*
 * run_store.c
 *     A run's SQL I/O, in the worker's short transactions: loading it (begin, resume or
 *     describe), recording a step boundary, reading what other processes recorded, and the
 *     tenant's unanswered creates (provisioning.unsettled_creates).
 *
 * Only run workers and step workers write a run's row and its log, and only here, through
 * provisioning._step_record: it holds the row lock, so boundaries recorded at once by a run
 * worker and its step workers are serialized.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "json.h"
#include "provisioning.h"
#include "run.h"

/*
 * The metadata this process wrote since it last recorded: steps executed at once by other
 * processes record theirs, and each merges into the run's (run_record).
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
 * status is step_retrying_name), the start of step next, the metadata this process wrote merged
 * into the run's, and the run's end when run_status is set (kind: why it failed). step
 * and next are indexes, -1 for none. A critical step that failed before the run's end
 * leaves its kind in error_kind until the run ends, surviving a crash meanwhile.
 */
void
run_record(RunContext *ctx, int step, const char *status, int attempts, const char *message,
		   double duration_ms, int next, const RunStatus *run_status, FailKind kind)
{
	Oid			types[10] = {UUIDOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	const char *kind_name = fail_kind_names[kind];
	int			rc;
	static SPIPlanPtr plan = NULL;

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
	worker_plan(&plan, "the step record statement",
				"SELECT provisioning._step_record($1, $2, $3, $4, $5, $6, "
				"(SELECT o.provisioning_metadata FROM provisioning.tenant_onboarding o"
				"  WHERE o.id = $1 FOR UPDATE) || $7::jsonb, $8, $9, $10)",
				10, types);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
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

/*
 * The outcome (or, as step_retrying_name, the retry) of step, a step worker's or a retried
 * attempt's, in one transaction of its own (run_record)
 */
void
run_record_step(RunContext *ctx, int step, const char *status, int attempts, const char *message,
				double duration_ms, FailKind kind)
{
	/* everything in between is allocated in the transaction's memory */
	worker_txn_begin(ctx->steps[step].key);
	run_record(ctx, step, status, attempts, message, duration_ms, -1, NULL, kind);
	worker_txn_commit();
}

/*
 * The create of target, sent at ctx->write_sent_at, that got no answer, in a transaction
 * of its own: the run may end before the engine applies it, and the tenant's next run must
 * not create it again meanwhile (a retry comes sooner than write_settle_ms).
 */
void
unsettled_create_store(RunContext *ctx, const char *target)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, UUIDOID};
	Datum		values[4];

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
	const EngineDriver *driver = ctx->driver;

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
#define LIVE_CREATES "SELECT target, sent_at FROM provisioning.unsettled_creates" \
	"  WHERE tenant_id = $1 AND sent_at > pg_catalog.clock_timestamp() - $2 * interval '1 ms'"

	worker_plan(&plans[begin], "the unanswered creates' query",
				begin ? "WITH settled AS (DELETE FROM provisioning.unsettled_creates"
				"  WHERE tenant_id = $1 AND sent_at <= pg_catalog.clock_timestamp() - $2 * interval '1 ms') "
				LIVE_CREATES : LIVE_CREATES,
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
run_read(MemoryContext parent, const pg_uuid_t *run_id, bool begin)
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
	ctx->operation = jb_text(&doc->root, "operation");
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
	ctx->driver = ctx->engine_kind ? driver_for_kind(ctx->engine_kind) : NULL;
	ctx->reachability_step = reachability_step_of(ctx);
	/* the description and its parsed form held the credentials */
	explicit_bzero(described, strlen(described));
	explicit_bzero(doc, VARSIZE(doc));
	load_earlier_creates(ctx, begin);
	MemoryContextSwitchTo(old);
	return ctx;
}

/* A run worker's claim: begins or resumes the run (run_read). */
RunContext *
run_begin(MemoryContext parent, const pg_uuid_t *run_id)
{
	return run_read(parent, run_id, true);
}

/* A step worker's view of the run it executes a step of, which it leaves as it is (run_read). */
RunContext *
run_describe(MemoryContext parent, const pg_uuid_t *run_id)
{
	return run_read(parent, run_id, false);
}

/*
 * Reads the outcomes and metadata other processes recorded, in the open transaction
 * (locking the run's row: no step boundary comes in between until it commits). Step
 * skip is this worker's own, about to be recorded.
 */
void
run_refresh(RunContext *ctx, int skip)
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
		meta_merge(ctx, list_nth(members, i), list_nth(members, i + 1));
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
		if (!step_in_other_hands(s) || !s->exited)
			continue;
		if (s->worker != NULL)
			pfree(s->worker);
		s->worker = NULL;
		s->foreign = false;
		s->exited = false;
		s->resumed = s->status == STEP_RUNNING;
	}
}

/* Ends a run's life in the worker: its connection, its credentials, its memory. */
void
run_forget(RunContext *ctx)
{
	http_client_cleanup(&ctx->http);
	if (ctx->api_key)
		explicit_bzero(ctx->api_key, strlen(ctx->api_key));
	if (ctx->api_secret)
		explicit_bzero(ctx->api_secret, strlen(ctx->api_secret));
	MemoryContextDelete(ctx->cxt);
}
