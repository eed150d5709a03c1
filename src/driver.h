/*
 * driver.h
 *     The interface between the run state machine and an engine driver.
 *
 * The run (run_worker.c, step_exec.c) walks the run's step list; for each step it asks the engine's driver
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
#include "run_state.h"
#include "status.h"

typedef struct StepResult
{
	StepStatus	status;			/* completed, exists, skipped or failed */
	FailKind	kind;
	int			retry_after_s;	/* the engine's Retry-After, or -1 */
	char	   *message;
} StepResult;

typedef struct RunContext
{
	MemoryContext cxt;			/* lives as long as the run */
	pg_uuid_t	run_id;
	char	   *correlation_id;
	char	   *tenant_id;
	char	   *engine_name;	/* NULL when the tenant has no engine */
	TimestampTz started_at;		/* when the run first started */
	double		queued_ms;		/* from queued to first started */
	int			first;			/* the step it starts (or resumes) at; -1: only its end is left */
	double		txn_ms_before;	/* worker_txn_ms() before the run was claimed */
	TimestampTz resumed_at;		/* when this execution resumed an interrupted one, or 0 */
	char	   *engine_kind;	/* NULL when the tenant has no engine */
	char	   *operation;		/* the run's provisioning_type: which catalog its steps are of */
	const struct EngineDriver *driver;	/* engine_kind's, or NULL when there is none */
	char	   *base_url;		/* without a trailing slash */
	char	   *api_key;
	char	   *api_secret;
	JsonbContainer *options;	/* the engine's options */
	JsonbContainer *config;		/* the run's settings */
	List	   *metadata;		/* key, value, ...: references to what the engine holds */
	List	   *meta_written;	/* the keys this process set since it last recorded */
	FailKind	error_kind;		/* why the first critical step failed, or FAIL_NONE */
	double		delegated_engine_ms;	/* engine time of the steps step workers executed */
	RunStep    *steps;
	int			nsteps;
	int			reachability_step;	/* the driver's (EngineDriver), an index; -1: none */
	int			current;		/* index of the step being executed */
	bool		create_sent;	/* this step sent a creating request */
	bool		session_open;	/* the driver's begin succeeded */
	const char *session_share;	/* a step worker's: its run worker's session (share), or NULL */
	TimestampTz write_sent_at;	/* when the last write was sent */

	/*
	 * A create that may still be applied by the engine: sent without an answer, or (a
	 * resumed run, whose earlier attempt may have left requests in the engine) any create
	 * at all, unsettled_target NULL. Zero unsettled_since: none.
	 */
	TimestampTz unsettled_since;
	char	   *unsettled_target;
	List	   *earlier_creates;	/* UnsettledCreate: the tenant's earlier runs' unanswered
									 * creates, still within write_settle_ms */
	TimestampTz settle_from;	/* the send that holds back the create settle_pause waits for */
	HttpClient	http;
	void	   *engine_session;	/* the driver's own state for the run, set by begin */
} RunContext;

/* A create of an earlier run that got no answer (provisioning.unsettled_creates) */
typedef struct UnsettledCreate
{
	char	   *target;
	TimestampTz sent_at;
} UnsettledCreate;

typedef void (*StepFunction) (RunContext *ctx, StepResult *result);

/*
 * One step of an engine's catalog: its key, what it does (NULL: the engine has nothing to
 * do for it; it is skipped with the description as the reason), and how a run uses it.
 */
typedef struct StepImpl
{
	const char *step;
	StepFunction function;
	bool		critical;		/* its failure ends the run FAILED (else PARTIAL) */
	const char *condition;		/* always | demo_data | pos | unsupported */
	const char *const *depends_on;	/* the steps whose results it reads, NULL-terminated */
	const char *description;
} StepImpl;

/*
 * The steps of one operation (a run's provisioning_type), in order: provisioning.step_catalog
 * is filled from the drivers' catalogs, so what a kind declares and what it executes are one
 * list; position is the index among the steps the operation has. Operations that differ by
 * what they leave out share one array: leaves_out names the condition whose steps this one
 * does not have (a catalog without a point of sale leaves out the "pos" steps).
 */
typedef struct StepCatalog
{
	const char *operation;		/* one of provisioning.operations */
	const StepImpl *steps;		/* terminated by { NULL } */
	const char *leaves_out;		/* a condition, or NULL: every step of the array */
} StepCatalog;

/* The steps a catalog entry depends on, as a NULL-terminated list */
#define STEP_DEPS(...) ((const char *const[]) {__VA_ARGS__, NULL})
#define NO_STEP_DEPS ((const char *const[]) {NULL})

/* An engine's row as a health probe reads it. */
typedef struct EngineAccess
{
	const char *base_url;		/* without a trailing slash */
	const char *api_key;
	const char *api_secret;
	JsonbContainer *options;
} EngineAccess;

/* What a health probe sends: a GET, or a POST of body. */
typedef struct ProbeRequest
{
	char	   *url;
	char	   *authorization;	/* the Authorization header's value, or NULL */
	char	   *body;			/* JSON, or NULL */
} ProbeRequest;

/* Room for what a run worker's open session hands its step workers */
#define ENGINE_SESSION_SHARE 32

/*
 * An engine driver. The run calls begin before its first step (again at each attempt
 * until it succeeds, with the step's retries); each step's function then does the step's
 * work. share, when the engine has a login, copies what the run worker's session learned
 * into ENGINE_SESSION_SHARE bytes; a step worker's begin finds them in ctx->session_share
 * and need not log in again. engine_health asks probe_request what to send and probe_judge
 * what the answer means, the engine's way: "online", "offline" or "unauthorized", and why
 * when not online.
 */
typedef struct EngineDriver
{
	const char *kind;
	const char *reachability_step;	/* fails offline: the run is NOT_PROVISIONED */
	bool		(*begin) (RunContext *ctx, StepResult *result);
	void		(*share) (RunContext *ctx, char *share);
	void		(*probe_request) (const EngineAccess *engine, ProbeRequest *request);
	const char *(*probe_judge) (const HttpResponse *response, char **why);
	const StepCatalog *catalogs;	/* one per operation, terminated by { NULL } */
	const char *setting_defaults;	/* a JSON object: the kind's defaults of tenant settings */
	/* how the engine's database compares company names: "exact", or "folded" (case, accents
	 * and trailing spaces ignored) */
	const char *company_names;
	/* the path where a user enters a workspace, given the run's metadata */
	char	   *(*workspace_path) (JsonbContainer *metadata);
} EngineDriver;

extern const EngineDriver *driver_for_kind(const char *kind);
extern bool catalog_has(const StepCatalog *catalog, const StepImpl *step);
extern StepFunction driver_step(const EngineDriver *driver, const char *operation, const char *step);
extern const EngineDriver *driver_at(int i);

/* Run helpers for drivers (step_context.c) */
extern const char *config_text(RunContext *ctx, const char *key);
extern bool config_bool(RunContext *ctx, const char *key);
extern const char *meta_get(RunContext *ctx, const char *key);
extern void meta_set(RunContext *ctx, const char *key, const char *value);
extern StepStatus step_status_of(RunContext *ctx, const char *step);
/* Waits before retry number attempt (1, 2, ...): exponential, jittered, >= Retry-After (step_exec.c) */
extern void backoff_sleep(int attempt, int retry_after_s);

/* Creates that may still be applied by the engine (step_context.c); target names what is created. */
extern bool create_allowed(RunContext *ctx, const char *target);
extern void write_unanswered(RunContext *ctx, const char *target);
extern void settle_pause(RunContext *ctx, const char *target);

/* How a creating request ended, for create_once. */
typedef enum CreateAnswer
{
	CREATE_MADE,
	CREATE_CONFLICT,			/* the engine says it exists already */
	CREATE_UNKNOWN,				/* sent, and no answer tells its fate */
	CREATE_FAILED				/* the result holds the failure */
} CreateAnswer;

/*
 * Something a step creates at most once, the engine's way: lookup says whether the engine
 * holds it (false: the result holds the failure), create sends the creating request. Both
 * get arg, which carries what they find or make.
 */
typedef struct CreateOnce
{
	const char *target;			/* what is created, for messages and the settle bookkeeping */
	const char *request;		/* the creating request, for messages */
	bool		(*lookup) (RunContext *ctx, StepResult *r, void *arg, bool *found);
	CreateAnswer (*create) (RunContext *ctx, StepResult *r, void *arg);
	void	   *arg;
} CreateOnce;

extern bool create_once(RunContext *ctx, StepResult *r, const CreateOnce *c, bool *created);

/* Filling in a result */
extern void step_done(RunContext *ctx, StepResult *result, bool created, const char *fmt,...)
			pg_attribute_printf(4, 5);
extern void step_fail(StepResult *result, FailKind kind, const char *fmt,...)
			pg_attribute_printf(3, 4);
/* A failed attempt: the engine answered request with something else than its answer (false). */
extern bool step_malformed(StepResult *result, const char *request, const char *what);

#endif							/* PROVISIONING_DRIVER_H */
