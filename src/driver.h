/*
 * driver.h
 *     The interface between the run state machine and an engine driver.
 *
 * The run (run.c) walks the run's step list; for each step it asks the engine's driver
 * for the step's function and calls it with no transaction open. A step checks the
 * engine before it creates anything, so calling it again after a crash or a lost
 * response finds what the earlier call made and reports "exists" instead of making it
 * twice.
 */
#ifndef PROVISIONING_DRIVER_H
#define PROVISIONING_DRIVER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "http.h"

typedef enum StepStatus
{
	STEP_COMPLETED,
	STEP_EXISTS,
	STEP_SKIPPED,
	STEP_FAILED
} StepStatus;

/* Why a step failed: decides whether it is retried, and the run's final status. */
typedef enum FailKind
{
	FAIL_NONE,
	FAIL_TRANSIENT,				/* retried with backoff inside the step */
	FAIL_PERMANENT,				/* the engine refused; retrying would not help */
	FAIL_OFFLINE				/* the engine could not be reached */
} FailKind;

typedef struct StepResult
{
	StepStatus	status;
	FailKind	kind;
	int			retry_after_s;	/* the engine's Retry-After, or -1 */
	char	   *message;
} StepResult;

/* One entry of the run's step list */
typedef struct RunStep
{
	char	   *key;
	char	   *status;			/* pending, running, completed, exists, skipped, failed */
	bool		critical;
	int			attempts;
} RunStep;

typedef struct RunContext
{
	MemoryContext cxt;			/* lives as long as the run */
	pg_uuid_t	run_id;
	char	   *correlation_id;
	char	   *engine_kind;	/* NULL when the tenant has no engine */
	char	   *base_url;		/* without a trailing slash */
	char	   *api_key;
	char	   *api_secret;
	JsonbContainer *options;	/* the engine's options */
	JsonbContainer *config;		/* the run's settings */
	List	   *metadata;		/* MetaItem: references to what the engine holds */
	RunStep    *steps;
	int			nsteps;
	int			current;		/* index of the step being executed */
	bool		create_sent;	/* this step sent a creating request */
	TimestampTz write_sent_at;	/* when the last write was sent */

	/*
	 * A create that may still be applied by the engine: sent without an answer, or (a
	 * resumed run, whose earlier attempt may have left requests in the engine) any create
	 * at all, unsettled_target NULL. Zero unsettled_since: none.
	 */
	TimestampTz unsettled_since;
	char	   *unsettled_target;
	HttpClient	http;
} RunContext;

typedef void (*StepFunction) (RunContext *ctx, StepResult *result);

typedef struct StepImpl
{
	const char *step;
	StepFunction function;
} StepImpl;

typedef struct EngineDriver
{
	const char *kind;
	/* the Authorization header's value */
	char	   *(*authorization) (const char *api_key, const char *api_secret);
	/* an authenticated, side-effect free request for health probes */
	const char *health_path;
	const StepImpl *steps;		/* terminated by { NULL, NULL } */
} EngineDriver;

extern const EngineDriver erpnext_driver;

extern const EngineDriver *driver_for_kind(const char *kind);
extern StepFunction driver_step(const EngineDriver *driver, const char *step);

/* Run helpers for drivers (run.c) */
extern const char *config_text(RunContext *ctx, const char *key);
extern bool config_bool(RunContext *ctx, const char *key);
extern const char *meta_get(RunContext *ctx, const char *key);
extern void meta_set(RunContext *ctx, const char *key, const char *value);
extern const char *step_status_of(RunContext *ctx, const char *step);
/* Waits before retry number attempt (1, 2, ...): exponential, jittered, >= Retry-After */
extern void backoff_sleep(int attempt, int retry_after_s);

/* Creates that may still be applied by the engine (run.c); target names what is created. */
extern bool create_allowed(RunContext *ctx, const char *target);
extern void write_unanswered(RunContext *ctx, const char *target);
extern void settle_pause(RunContext *ctx, const char *target);

/* Filling in a result */
extern void step_done(RunContext *ctx, StepResult *result, bool created, const char *fmt,...)
			pg_attribute_printf(4, 5);
extern void step_fail(StepResult *result, FailKind kind, const char *fmt,...)
			pg_attribute_printf(3, 4);

#endif							/* PROVISIONING_DRIVER_H */
