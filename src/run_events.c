/*
 * run_events.c
 *     A run's story in the server log, and the run worker's pg_stat_activity text.
 *
 * Every event of a run is one line at provisioning.log_level, in a fixed key=value form
 * so that it reads in the plain log and parses from jsonlog's message field:
 *
 *   provisioning event=E correlation_id=C run_id=R tenant_id=T engine=N kind=K step=S ...
 *
 * the six identifying keys always, in that order ("-" where there is none), then the
 * event's own keys. A value with anything but [A-Za-z0-9._:/@+-] is double-quoted with
 * C escapes. Lines carry step statuses, counts, durations and the step's error message
 * (the engine's answer, or libcurl's reason, which may name the host and port, with the
 * request's method and path), which the drivers keep free of secrets, request bodies and
 * query strings; never a configuration value.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "api.h"
#include "provisioning.h"
#include "run_events.h"


int			prov_log_level = LOG;

/* Levels that write to the server log only: a client never gets these by default */
const struct config_enum_entry run_event_log_levels[] = {
	{"debug5", DEBUG5, false},
	{"debug4", DEBUG4, false},
	{"debug3", DEBUG3, false},
	{"debug2", DEBUG2, false},
	{"debug1", DEBUG1, false},
	{"log", LOG, false},
	{NULL, 0, false}
};

/* The run's engine time in this process when the step it executes started */
static double step_engine_ms;

/* LOG never reaches a client: the queued line is written in the inserting session. */
static int
event_level(void)
{
	return prov_log_level == LOG ? LOG_SERVER_ONLY : prov_log_level;
}

static void
append_value(StringInfo buf, const char *value)
{
	bool		bare = value != NULL && value[0] != '\0' && strcmp(value, "-") != 0;

	if (value == NULL)
	{
		appendStringInfoChar(buf, '-');
		return;
	}
	for (const char *c = value; bare && *c; c++)
		bare = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || strchr("._:/@+-", *c) != NULL;
	if (bare)
	{
		appendStringInfoString(buf, value);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (const unsigned char *c = (const unsigned char *) value; *c; c++)
	{
		if (*c == '"' || *c == '\\')
			appendStringInfo(buf, "\\%c", *c);
		else if (*c == '\n')
			appendStringInfoString(buf, "\\n");
		else if (*c == '\r')
			appendStringInfoString(buf, "\\r");
		else if (*c == '\t')
			appendStringInfoString(buf, "\\t");
		else if (*c < 0x20 || *c == 0x7f)
			appendStringInfo(buf, "\\x%02x", *c);
		else
			appendStringInfoChar(buf, (char) *c);
	}
	appendStringInfoChar(buf, '"');
}

static void
add(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, " %s=", key);
	append_value(buf, value);
}

static void
add_ms(StringInfo buf, const char *key, double ms)
{
	appendStringInfo(buf, " %s=%.3f", key, ms);
}

static void
add_int(StringInfo buf, const char *key, long value)
{
	appendStringInfo(buf, " %s=%ld", key, value);
}

static void
line_begin(StringInfo buf, const char *event, const char *correlation_id, const char *run_id,
		   const char *tenant_id, const char *engine, const char *kind, const char *step)
{
	initStringInfo(buf);
	appendStringInfoString(buf, "provisioning");
	add(buf, "event", event);
	add(buf, "correlation_id", correlation_id);
	add(buf, "run_id", run_id);
	add(buf, "tenant_id", tenant_id);
	add(buf, "engine", engine);
	add(buf, "kind", kind);
	add(buf, "step", step);
}

static void
emit(StringInfo buf)
{
	/* no STATEMENT or CONTEXT line: the session's statement may hold anything */
	ereport(event_level(),
			errmsg_internal("%s", buf->data),
			errhidestmt(true), errhidecontext(true));
	pfree(buf->data);
}

/* The identifying keys of a line about ctx's run, and step idx (-1 for none). */
static void
run_line(StringInfo buf, RunContext *ctx, const char *event, int idx)
{
	line_begin(buf, event, ctx->step.correlation_id,
			   DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&ctx->run_id))),
			   ctx->tenant_id, ctx->engine_name, ctx->engine_kind, idx >= 0 ? ctx->steps[idx].key : NULL);
}

/*
 * The run begins at step ctx->first, or goes on after an interruption (resumed: steps were
 * left running). Logs how long it was queued, or how long the creates of the steps left
 * running wait for the requests of the interrupted attempt.
 */
void
run_event_run_started(RunContext *ctx, bool resumed)
{
	StringInfoData buf;
	int			first = ctx->first;

	if (!message_level_is_interesting(event_level()))
		return;
	if (resumed)
	{
		/* creates wait this long for requests the interrupted attempt may have left */
		run_line(&buf, ctx, "run_resumed", first);
		add_int(&buf, "settle_ms", prov_write_settle_ms);
	}
	else
	{
		run_line(&buf, ctx, "run_started", first);
		add_ms(&buf, "queued_ms", ctx->queued_ms);
	}
	emit(&buf);
}

/* The run worker waits for its step workers' reports (pg_stat_activity) */
void
run_event_waiting(RunContext *ctx)
{
	StringInfoData buf;

	run_line(&buf, ctx, "step_workers_wait", -1);
	pgstat_report_activity(STATE_RUNNING, buf.data);
	pfree(buf.data);
}

void
run_event_activity(RunContext *ctx, int idx)
{
	StringInfoData buf;

	run_line(&buf, ctx, "step_running", idx);
	add_int(&buf, "attempt", ctx->steps[idx].attempts);
	pgstat_report_activity(STATE_RUNNING, buf.data);
	pfree(buf.data);
}

void
run_event_step_started(RunContext *ctx, int idx)
{
	StringInfoData buf;

	step_engine_ms = ctx->step.http.elapsed_ms;
	run_event_activity(ctx, idx);
	if (!message_level_is_interesting(event_level()))
		return;
	run_line(&buf, ctx, "step_started", idx);
	add_int(&buf, "attempt", ctx->steps[idx].attempts);
	emit(&buf);
}

/* Attempt number attempts of step idx failed transiently; the next comes after wait_ms. */
void
run_event_retry(RunContext *ctx, int idx, const StepResult *result, long wait_ms)
{
	StringInfoData buf;

	run_line(&buf, ctx, "step_retry_wait", idx);
	add_int(&buf, "wait_ms", wait_ms);
	pgstat_report_activity(STATE_RUNNING, buf.data);
	pfree(buf.data);
	if (!message_level_is_interesting(event_level()))
		return;
	run_line(&buf, ctx, "step_retry", idx);
	add_int(&buf, "attempt", ctx->steps[idx].attempts);
	add_int(&buf, "wait_ms", wait_ms);
	add(&buf, "error", result->message);
	emit(&buf);
}

void
run_event_step_finished(RunContext *ctx, int idx, const StepResult *result, double duration_ms)
{
	StringInfoData buf;
	bool		failed = result->status == STEP_FAILED;

	if (!message_level_is_interesting(event_level()))
		return;
	run_line(&buf, ctx, "step_finished", idx);
	add(&buf, "status", step_status_names[result->status]);
	add_int(&buf, "attempts", ctx->steps[idx].attempts);
	add_ms(&buf, "duration_ms", duration_ms);
	add_ms(&buf, "engine_ms", ctx->step.http.elapsed_ms - step_engine_ms);
	if (failed)
		add(&buf, "error", result->message);
	emit(&buf);
}

/*
 * The run ended with status: its duration since it first started (across interruptions)
 * and the time this execution spent in engine requests, its step workers' summed in; a
 * failed run names its first failed step and that step's error.
 */
void
run_event_run_finished(RunContext *ctx, RunStatus status)
{
	StringInfoData buf;
	int			failed = -1;

	if (!message_level_is_interesting(event_level()))
		return;
	for (int i = ctx->nsteps - 1; i >= 0; i--)
		if (ctx->steps[i].status == STEP_FAILED)
			failed = i;
	run_line(&buf, ctx, "run_finished", failed);
	add(&buf, "status", run_status_names[status]);
	add_ms(&buf, "duration_ms",
		   (GetCurrentTimestamp() - ctx->started_at) / 1000.0);
	add_ms(&buf, "engine_ms", ctx->step.http.elapsed_ms + ctx->delegated_engine_ms);
	add_ms(&buf, "record_ms", worker_txn_ms() - ctx->txn_ms_before);
	if (failed >= 0)
		add(&buf, "error", ctx->steps[failed].message ? ctx->steps[failed].message : "");
	emit(&buf);
}

/* ---------------------------------------------------------------- queued, from SQL */

static char *
uuid_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(n)));
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * provisioning._log_run_queued(correlation_id, run_id, tenant_id, engine, kind, step,
 * retry_of): the run_queued line, written by the trigger on tenant_onboarding as the
 * queueing transaction commits.
 */
PG_FUNCTION_INFO_V1(provisioning_log_run_queued);

Datum
provisioning_log_run_queued(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	if (!message_level_is_interesting(event_level()))
		PG_RETURN_VOID();
	line_begin(&buf, "run_queued", uuid_arg(fcinfo, 0), uuid_arg(fcinfo, 1), uuid_arg(fcinfo, 2),
			   text_arg(fcinfo, 3), text_arg(fcinfo, 4), text_arg(fcinfo, 5));
	add(&buf, "retry_of", uuid_arg(fcinfo, 6));
	emit(&buf);
	PG_RETURN_VOID();
}
