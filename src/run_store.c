/*
 * run_store.c
 *     A run's SQL I/O, in the worker's short transactions: loading it (begin, resume or
 *     describe), recording a step boundary, reading what other processes recorded, and the
 *     tenant's unanswered creates (provisioning.unsettled_creates).
 *
 * Only the run worker writes its run's row and log, and only here, through
 * provisioning._step_record; its step workers report to it (step_worker.c) and only read
 * the run (run_describe).
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

/* The metadata set since the run last recorded, merged into the run's (run_record) */
static char *
metadata_json(RunContext *ctx)
{
	JsonWriter	w;
	ListCell   *lc;

	jw_open(&w, '{');
	foreach(lc, ctx->meta_written)
		jw_str(&w, lfirst(lc), meta_get(&ctx->step, lfirst(lc)));
	jw_close(&w, '}');
	return w.buf.data;
}

/*
 * One step boundary, in the open transaction: the outcome of step (or its retry when
 * status is step_retrying_name), the start of step next, the metadata set since merged
 * into the run's, and the run's end when run_status is set (kind: why it failed). step
 * and next are indexes, -1 for none. A critical step that failed before the run's end
 * leaves its kind in error_kind until the run ends, surviving a crash meanwhile (_step_record).
 * Returns whether a cancel of the run was requested: read under the row's lock at no extra
 * round trip. Once it was, no step starts but one left running (_step_record's rule).
 */
bool
run_record(RunContext *ctx, int step, const char *status, int attempts, const char *message,
		   double duration_ms, int next, const RunStatus *run_status, FailKind kind)
{
	Oid			types[10] = {UUIDOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	const char *kind_name = fail_kind_names[kind];
	int			rc;
	bool		cancel;
	bool		isnull;
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

	worker_plan(&plan, "the step record statement",
				"SELECT provisioning._step_record($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
				10, types);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "recording a step failed: %s", SPI_result_code_string(rc));
	cancel = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	list_free_deep(ctx->meta_written);
	ctx->meta_written = NIL;
	if (next >= 0 && (!cancel || ctx->steps[next].status == STEP_RUNNING))
	{
		ctx->steps[next].status = STEP_RUNNING;
		ctx->steps[next].attempts++;
	}
	return cancel;
}

/*
 * The retry of step as its attempt number attempts begins, in one transaction of its own
 * (run_record)
 */
void
run_record_retry(RunContext *ctx, int step, int attempts, const char *message)
{
	/* everything in between is allocated in the transaction's memory */
	worker_txn_begin(ctx->steps[step].key);
	/* a cancel lets the step's attempts go on: it takes effect at the step's end */
	(void) run_record(ctx, step, step_retrying_name, attempts, message, 0, -1, NULL, FAIL_NONE);
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
	ctx->step.correlation_id = jb_text(&doc->root, "correlation_id");
	ctx->tenant_id = jb_text(&doc->root, "tenant_id");
	ctx->started_at = epoch_timestamp(jb_text(&doc->root, "started_at"));
	ctx->queued_ms = jb_text(&doc->root, "queued_ms") ? strtod(jb_text(&doc->root, "queued_ms"), NULL) : 0;
	ctx->operation = jb_text(&doc->root, "operation");
	ctx->op = operation_of_name(ctx->operation);
	ctx->config = jb_object_copy(&doc->root, "config");
	ctx->metadata = jb_string_members(jb_object(&doc->root, "metadata"));
	ctx->error_kind = fail_kind_of_name(jb_text(&doc->root, "error_kind"));
	ctx->cancel_requested = jb_bool(&doc->root, "cancel_requested", false);
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
		ctx->step.engine.base_url = http_base_url(jb_text(engine, "base_url"));
		ctx->step.engine.api_key = jb_text(engine, "api_key");
		ctx->step.engine.api_secret = jb_text(engine, "api_secret");
		ctx->step.engine.options = jb_object_copy(engine, "options");
		/* every request of the run keeps to them, with no lookup of its own */
		engine_limits_set(&ctx->step.http.limits, ctx->engine_name,
						  jb_text(engine, "max_concurrent_requests"),
						  jb_text(engine, "requests_per_second"));
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

/* Ends a run's life in the worker: its connection, its credentials, its memory. */
void
run_forget(RunContext *ctx)
{
	EngineAccess *engine = &ctx->step.engine;

	http_client_cleanup(&ctx->step.http);
	if (engine->api_key)
		explicit_bzero(unconstify(char *, engine->api_key), strlen(engine->api_key));
	if (engine->api_secret)
		explicit_bzero(unconstify(char *, engine->api_secret), strlen(engine->api_secret));
	MemoryContextDelete(ctx->cxt);
}
