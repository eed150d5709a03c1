/*
 * driver.h
 *     The interface between the run's core and an engine driver.
 *
 * The core (run_worker.c, step_exec.c) walks the run's step list; for each step it asks the
 * engine's driver for the step's function and calls it with no transaction open, giving it
 * a StepContext: the engine's access, the HTTP client, the driver's session. Settings,
 * metadata, creates and the step's result go through the functions declared here
 * (step_context.c); the run itself (RunContext, run.h) stays the core's. A step checks the
 * engine before it creates anything, so calling it again after a crash or a lost response
 * finds what the earlier call made and reports "exists" instead of making it twice.
 */
#ifndef PROVISIONING_DRIVER_H
#define PROVISIONING_DRIVER_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "http.h"
#include "status.h"

typedef struct StepResult
{
	StepStatus	status;			/* completed, exists, skipped or failed */
	FailKind	kind;
	int			retry_after_s;	/* the engine's Retry-After, or -1 */
	char	   *message;
} StepResult;

/* An engine's access: as a run's steps use it, and as a health probe reads its row. */
typedef struct EngineAccess
{
	const char *base_url;		/* without a trailing slash */
	const char *api_key;
	const char *api_secret;
	JsonbContainer *options;
} EngineAccess;

/*
 * What a step's function, and the driver's begin and share, are given: the engine, the
 * means to reach it, and the driver's own session. The rest of the run (its settings,
 * metadata, other steps, their bookkeeping) is the core's (run.h, which embeds this in a
 * RunContext) and reached through the functions below only.
 */
typedef struct StepContext
{
	EngineAccess engine;
	const char *correlation_id;	/* the run's, sent with every request */
	HttpClient	http;			/* this process's connection for the run, set up by begin */
	void	   *engine_session;	/* the driver's own state for the run, set by begin */
	const char *session_share;	/* a step worker's: its run worker's session (share), or NULL */
} StepContext;

typedef void (*StepFunction) (StepContext *ctx, StepResult *result);

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
 * and need not log in again. absorb, optional, takes back what a step worker's session
 * learned (its share, reported with its outcome) into the run worker's: all of them are
 * one execution of the run. engine_health asks probe_request what to send and probe_judge
 * what the answer means, the engine's way: "online", "offline" or "unauthorized", and why
 * when not online.
 */
typedef struct EngineDriver
{
	const char *kind;
	const char *reachability_step;	/* fails offline: the run is NOT_PROVISIONED */
	bool		(*begin) (StepContext *ctx, StepResult *result);
	void		(*share) (StepContext *ctx, char *share);
	void		(*absorb) (StepContext *ctx, const char *share);
	void		(*probe_request) (const EngineAccess *engine, ProbeRequest *request);
	const char *(*probe_judge) (const HttpResponse *response, char **why);
	const StepCatalog *catalogs;	/* one per operation, terminated by { NULL } */
	const char *setting_defaults;	/* a JSON object: the kind's defaults of tenant settings */
	/* how the engine's database compares company names: "exact", or "folded" (case, accents
	 * and trailing spaces ignored) */
	const char *company_names;
	/* the path where a user enters a workspace, given the run's metadata */
	char	   *(*workspace_path) (JsonbContainer *metadata);
	/* a kind for the extension's own tests: it exists only with provisioning.test_engine_kinds */
	bool		test_only;
} EngineDriver;

extern const EngineDriver *driver_for_kind(const char *kind);
extern bool catalog_has(const StepCatalog *catalog, const StepImpl *step);
extern StepFunction driver_step(const EngineDriver *driver, const char *operation, const char *step);
extern const EngineDriver *driver_at(int i);

/* Run helpers for drivers (step_context.c) */
extern const char *config_text(StepContext *ctx, const char *key);
extern bool config_bool(StepContext *ctx, const char *key);
extern const char *meta_get(StepContext *ctx, const char *key);
extern void meta_set(StepContext *ctx, const char *key, const char *value);
extern StepStatus step_status_of(StepContext *ctx, const char *step);
/* Memory for the driver's session; a step's writes, for the settle bookkeeping (step_context.c) */
extern MemoryContext session_memory(StepContext *ctx);
extern void sending_write(StepContext *ctx);
extern bool step_wrote(StepContext *ctx);
/* Waits before retry number attempt (1, 2, ...): exponential, jittered, >= Retry-After (step_exec.c) */
extern void backoff_sleep(int attempt, int retry_after_s);

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
	bool		(*lookup) (StepContext *ctx, StepResult *r, void *arg, bool *found);
	CreateAnswer (*create) (StepContext *ctx, StepResult *r, void *arg);
	void	   *arg;
} CreateOnce;

extern bool create_once(StepContext *ctx, StepResult *r, const CreateOnce *c, bool *created);

/* Filling in a result */
extern void step_done(StepContext *ctx, StepResult *result, bool created, const char *fmt,...)
			pg_attribute_printf(4, 5);
extern void step_fail(StepResult *result, FailKind kind, const char *fmt,...)
			pg_attribute_printf(3, 4);
extern void step_skip(StepResult *result, const char *fmt,...) pg_attribute_printf(2, 3);
/* A failed attempt: the engine answered request with something else than its answer (false). */
extern bool step_malformed(StepResult *result, const char *request, const char *what);

/*
 * Lifecycle operations (VERIFY, SUSPEND, RESUME, OFFBOARD): a kind that supports one lists a
 * StepCatalog for it, with the operation's step keys (README, "Operations"); a kind without
 * one has the operation refused (0A000) for its tenants. The steps are written like the
 * provisioning ones, with these rules:
 *  - What to act on is what the provisioning recorded: a lifecycle run starts with the
 *    metadata of the tenant's latest run, which carries every earlier run's over, so meta_get
 *    reads the company, warehouses, POS profile and open session the provisioning (or a later
 *    resume) kept; meta_set of a lifecycle step is merged for the runs after it (a resume
 *    records its new session's name). meta_recorded reads a reference that must be there.
 *  - VERIFY steps write nothing: each reads back what its provisioning step made and reports
 *    step_done (created false: "exists") when it is found as recorded, else step_fail with
 *    FAIL_PERMANENT and a message saying what is missing or different. They are not
 *    critical, so every check runs; the run ends COMPLETED only when none failed (run_state.c).
 *    A step the tenant's provisioning skipped or did not have is skipped in VERIFY (SQL).
 *  - SUSPEND, RESUME and OFFBOARD steps are critical and idempotent like any step: read
 *    before write (never a second closing entry or session), report "exists" when the engine
 *    is already as the step would leave it, and skip (step_skip, saying why) what the tenant
 *    never had, e.g. a point of sale of a tenant provisioned BASIC.
 *  - An export step writes each page with export_rows, in one transaction of its own and at
 *    most once per key (a page written again adds nothing), and resumes where exported_count
 *    says (rows of this run: a later offboarding exports anew); it compares exported_count
 *    with the engine's own count before it reports done.
 */
extern const char *meta_recorded(StepContext *ctx, StepResult *result, const char *key, const char *what);
extern void export_rows(StepContext *ctx, const char *kind, int n, const char *const *keys,
						Jsonb *const *documents);
extern int64 exported_count(StepContext *ctx, const char *kind);

#endif							/* PROVISIONING_DRIVER_H */
