/*
 * step_context.c
 *     What a step's function calls (driver.h): the run's settings and metadata, the status
 *     of the run's other steps, memory for the driver's session, the step's writes, creates
 *     made at most once, the step's result, and the export pages of an offboarding. A driver holds only the run's StepContext;
 *     these functions reach the RunContext around it (run_of).
 *
 * Metadata a step sets is recorded with the run worker's next step boundary (run_store.c);
 * a step worker reports it with the step's outcome (step_worker.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "json.h"
#include "provisioning.h"
#include "run.h"

/*
 * The run a driver's StepContext belongs to. The core hands drivers &run->step only, so
 * this is the one place that reaches from what a driver holds to the rest of the run.
 */
static inline RunContext *
run_of(StepContext *ctx)
{
	return (RunContext *) ((char *) ctx - offsetof(RunContext, step));
}

const char *
config_text(StepContext *ctx, const char *key)
{
	return jb_text(run_of(ctx)->config, key);
}

bool
config_bool(StepContext *ctx, const char *key)
{
	return jb_bool(run_of(ctx)->config, key, false);
}

const char *
meta_get(StepContext *ctx, const char *key)
{
	RunContext *run = run_of(ctx);

	for (int i = 0; i + 1 < list_length(run->metadata); i += 2)
		if (strcmp((char *) list_nth(run->metadata, i), key) == 0)
			return (const char *) list_nth(run->metadata, i + 1);
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

/*
 * Sets key; it is recorded with the run worker's next step boundary (a step worker reports
 * it with its outcome).
 */
void
meta_set(StepContext *step, const char *key, const char *value)
{
	RunContext *ctx = run_of(step);
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
	if (!meta_written(ctx, key))
		ctx->meta_written = lappend(ctx->meta_written, pstrdup(key));
	MemoryContextSwitchTo(old);
}

/* The status of step in this run; pending for a step the run does not have. */
StepStatus
step_status_of(StepContext *ctx, const char *step)
{
	RunContext *run = run_of(ctx);

	for (int i = 0; i < run->nsteps; i++)
		if (strcmp(run->steps[i].key, step) == 0)
			return run->steps[i].status;
	return STEP_PENDING;
}

/*
 * Memory that lives as long as the run (a step's own is freed after each attempt): where
 * a driver's begin keeps its session.
 */
MemoryContext
session_memory(StepContext *ctx)
{
	return run_of(ctx)->cxt;
}

/*
 * A write is about to be sent: a document the step finds afterwards may be its work
 * (step_done), and a create whose answer is lost settles from now (write_unanswered).
 */
void
sending_write(StepContext *ctx)
{
	RunContext *run = run_of(ctx);

	run->create_sent = true;
	run->write_sent_at = GetCurrentTimestamp();
}

/* Has this step sent a write, in any of its attempts? */
bool
step_wrote(StepContext *ctx)
{
	return run_of(ctx)->create_sent;
}

/*
 * May target be created now? Not while a create that may still be applied by the engine
 * could be it: one sent without an answer less than provisioning.write_settle_ms ago (by
 * this step, or by an earlier run of the tenant: earlier_creates), or, in a resumed run, any
 * create in the first write_settle_ms. A step creates in a fixed order after looking each
 * document up, so a create of another target means this step's unanswered one was found: it
 * is settled too.
 */
static bool
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
 * The create of target, sent at ctx->write_sent_at, got no answer: it settles from then
 * (create_allowed), and is kept at once for the tenant's next run (unsettled_create_store).
 */
static void
write_unanswered(RunContext *ctx, const char *target)
{
	ctx->unsettled_since = ctx->write_sent_at;
	ctx->unsettled_target = MemoryContextStrdup(ctx->cxt, target);
	unsettled_create_store(ctx, target);
}

/* Waits a little before the unsettled create is looked for again. */
static void
settle_pause(RunContext *ctx, const char *target)
{
	long		left = prov_write_settle_ms -
		TimestampDifferenceMilliseconds(ctx->settle_from, GetCurrentTimestamp());

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("%s: waiting for the engine to apply an unanswered create (%s)",
									ctx->steps[ctx->current].key, target));
	worker_sleep(Max(1, Min(left, Min(Max(prov_write_settle_ms / 20, 100), 2000))));
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
create_once(StepContext *ctx, StepResult *r, const CreateOnce *c, bool *created)
{
	RunContext *run = run_of(ctx);
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
		if (!create_allowed(run, c->target))
		{
			settle_pause(run, c->target);
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
				write_unanswered(run, c->target);
				unanswered = r->message ? r->message : "";
				break;
			case CREATE_FAILED:
				return false;
		}
	}
}

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

/*
 * Success. A document found on re-check after this step already sent a creating
 * request was made by that request (its answer was lost): that is "completed" too.
 */
void
step_done(StepContext *ctx, StepResult *result, bool created, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	result->message = vformat(fmt, args);
	va_end(args);
	result->status = (created || step_wrote(ctx)) ? STEP_COMPLETED : STEP_EXISTS;
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

/* Nothing for the step to do (the tenant never had what it acts on), and why. */
void
step_skip(StepResult *result, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	result->message = vformat(fmt, args);
	va_end(args);
	result->status = STEP_SKIPPED;
	result->kind = FAIL_NONE;
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

/* ---------------------------------------------------------------- lifecycle operations */

/*
 * For a VERIFY step (and any lifecycle step acting on what the provisioning made): the value
 * the provisioning recorded under key, carried over in the run's metadata. NULL, with the
 * step failed and a message naming what, when nothing (or nothing but "") is recorded: a
 * reference the provisioning never kept cannot be found as recorded.
 */
const char *
meta_recorded(StepContext *ctx, StepResult *result, const char *key, const char *what)
{
	const char *value = meta_get(ctx, key);

	if (value != NULL && value[0] != '\0')
		return value;
	step_fail(result, FAIL_PERMANENT, "%s is not recorded: the tenant's provisioning kept no \"%s\"", what, key);
	return NULL;
}

/*
 * Writes one page of an export: n documents of kind, keys[i] naming documents[i] (unique
 * within the kind), as rows of provisioning.tenant_exports for this run, in one short
 * transaction of its own. A row the run has already exported is left as it is (ON CONFLICT
 * DO NOTHING): a page written again after a crash or a lost answer adds nothing. Called with
 * no transaction open, by whichever process executes the step.
 */
void
export_rows(StepContext *step, const char *kind, int n, const char *const *keys, Jsonb *const *documents)
{
	RunContext *ctx = run_of(step);
	static SPIPlanPtr plan = NULL;
	Oid			types[5] = {UUIDOID, UUIDOID, TEXTOID, TEXTARRAYOID, JSONBARRAYOID};
	Datum		values[5];
	Datum	   *key_datums;
	Datum	   *doc_datums;

	if (n <= 0)
		return;
	key_datums = palloc(sizeof(Datum) * n);
	doc_datums = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		if (keys[i] == NULL || documents[i] == NULL)
			elog(ERROR, "export of %s: row %d has no key or no document", kind, i);
		key_datums[i] = CStringGetTextDatum(keys[i]);
		doc_datums[i] = JsonbPGetDatum(documents[i]);
	}
	worker_txn_begin(ctx->steps[ctx->current].key);
	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(ctx->tenant_id));
	values[1] = UUIDPGetDatum(&ctx->run_id);
	values[2] = CStringGetTextDatum(kind);
	values[3] = PointerGetDatum(construct_array(key_datums, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(doc_datums, n, JSONBOID, -1, false, TYPALIGN_INT));
	worker_plan(&plan, "the export statement",
				"INSERT INTO provisioning.tenant_exports (tenant_id, run_id, kind, key, document)"
				" SELECT $1, $2, $3, k, d FROM unnest($4, $5) AS u(k, d)"
				" ON CONFLICT (run_id, kind, key) DO NOTHING",
				5, types);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write an export page of %s", kind);
	worker_txn_commit();
	pfree(key_datums);
	pfree(doc_datums);
}

/*
 * How many documents of kind this run has exported: where a resumed export goes on (each page
 * is written whole, so with pages read in a stable order it is the next page's offset), and
 * what its check against the engine's own count compares.
 */
int64
exported_count(StepContext *step, const char *kind)
{
	RunContext *ctx = run_of(step);
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int64		count;

	worker_txn_begin(ctx->steps[ctx->current].key);
	values[0] = UUIDPGetDatum(&ctx->run_id);
	values[1] = CStringGetTextDatum(kind);
	worker_plan(&plan, "the export count",
				"SELECT count(*) FROM provisioning.tenant_exports WHERE run_id = $1 AND kind = $2",
				2, types);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the exported documents of %s", kind);
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	worker_txn_commit();
	return count;
}
