/*
 * sample.c
 *     A test-only engine kind, the proof of the engine boundary: one folder and one registry
 *     line give the core a new kind whose runs pass the contract's end-to-end cases.
 *
 * It speaks the Frappe-style REST API of the simulated ERPNext (test/sim/erpnext_sim.py)
 * with only what the core offers every driver: driver.h, the HTTP client (http.h) and
 * typed JSON reads (json.h); nothing of the ERPNext driver's folder. Its four steps keep
 * the contract's keys for what they do (engine check, company, warehouses, customer), so a
 * status document and the cases name them alike; the kind has no others. Every create
 * goes through create_once, so a lost answer or a crash never makes a document twice.
 * test_only keeps it out of every server without provisioning.test_engine_kinds.
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"

#define USER_PATH "/api/method/frappe.auth.get_logged_user"
#define WAREHOUSE "Sample Store"
#define CUSTOMER "Sample Customer"

/* How a request ended; after UNKNOWN and FAILED the result holds the failure */
typedef enum Answer
{
	ANSWERED,					/* 2xx with a JSON object, in *root */
	ABSENT,						/* 404 */
	CONFLICT,					/* 409 */
	UNKNOWN,					/* a write was sent and nothing tells its fate */
	FAILED
} Answer;

static Answer
call(StepContext *ctx, StepResult *r, const char *method, const char *path, const char *body,
	 JsonbContainer **root)
{
	HttpResponse resp = {0};
	const char *request = psprintf("%s %s", method, path);
	bool		write = body != NULL;
	Jsonb	   *json;

	*root = NULL;
	if (write)
		sending_write(ctx);
	http_request(&ctx->http, method, psprintf("%s%s", ctx->engine.base_url, path), body, &resp);
	switch (resp.outcome)
	{
		case HTTP_OK:
			json = jb_parse(resp.body.data, resp.body.len);
			if (json == NULL || !JsonContainerIsObject(&json->root))
			{
				step_malformed(r, request, "no JSON object");
				return write ? UNKNOWN : FAILED;
			}
			*root = &json->root;
			return ANSWERED;
		case HTTP_NOT_FOUND:
			return ABSENT;
		case HTTP_CONFLICT:
			return CONFLICT;
		case HTTP_UNREACHABLE:
			step_fail(r, FAIL_OFFLINE, "the engine is offline: %s", resp.error);
			return FAILED;
		case HTTP_TRANSIENT:
			step_fail(r, FAIL_TRANSIENT, "%s: %s", request,
					  resp.status ? psprintf("HTTP %ld", resp.status) : resp.error);
			r->retry_after_s = resp.retry_after_s;
			return (write && resp.outcome_unknown) ? UNKNOWN : FAILED;
		case HTTP_UNAUTHORIZED:
		case HTTP_REJECTED:
			break;
	}
	step_fail(r, FAIL_PERMANENT, "%s: HTTP %ld", request, resp.status);
	return FAILED;
}

/* A document a step makes sure of: found by filters (a JSON list), else created from body */
typedef struct SampleDoc
{
	const char *doctype;
	const char *filters;
	const char *body;
	char	   *name;			/* out: the engine's name of it */
} SampleDoc;

static char *
resource_path(const char *doctype)
{
	return psprintf("/api/resource/%s", http_escape(doctype));
}

/* Garbage is no "none found": that would create the document again. */
static bool
lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
{
	SampleDoc  *d = (SampleDoc *) arg;
	char	   *path = psprintf("%s?fields=%s&filters=%s&limit_page_length=1", resource_path(d->doctype),
								http_escape("[\"name\"]"), http_escape(d->filters));
	JsonbContainer *root;
	JsonbContainer *rows;

	switch (call(ctx, r, "GET", path, NULL, &root))
	{
		case ANSWERED:
			break;
		case ABSENT:
		case CONFLICT:
			step_fail(r, FAIL_PERMANENT, "GET %s: the engine has no doctype %s", path, d->doctype);
			return false;
		default:
			return false;
	}
	if ((rows = jb_array(root, "data")) == NULL)
		return step_malformed(r, psprintf("GET %s", resource_path(d->doctype)), "data is not a list");
	*found = jb_array_length(rows) > 0;
	if (*found && !jb_str(jb_array_object(rows, 0), "name", &d->name))
		return step_malformed(r, psprintf("GET %s", resource_path(d->doctype)), "data[0] has no name");
	return true;
}

static CreateAnswer
create(StepContext *ctx, StepResult *r, void *arg)
{
	SampleDoc  *d = (SampleDoc *) arg;
	JsonbContainer *root;

	switch (call(ctx, r, "POST", resource_path(d->doctype), d->body, &root))
	{
		case ANSWERED:
			if (!jb_str(jb_object(root, "data"), "name", &d->name))
			{
				step_malformed(r, psprintf("POST %s", resource_path(d->doctype)), "data is no document with a name");
				return CREATE_UNKNOWN;
			}
			return CREATE_MADE;
		case CONFLICT:
			return CREATE_CONFLICT;
		case UNKNOWN:
			return CREATE_UNKNOWN;
		case ABSENT:
			step_fail(r, FAIL_PERMANENT, "POST %s: HTTP 404", resource_path(d->doctype));
			break;
		case FAILED:
			break;
	}
	return CREATE_FAILED;
}

/*
 * Makes sure of a document of doctype, and says so: the step's result, and its name in the
 * metadata under key. fields are n field/value pairs, the first keys of which find it
 * (the engine's filters); all of them, but those without a value, make it.
 */
static void
ensure(StepContext *ctx, StepResult *r, const char *doctype, const char *key, int keys, int n,
	   const char *const *fields)
{
	SampleDoc	d = {.doctype = doctype};
	JsonWriter	filters,
				body;
	CreateOnce	c = {.request = psprintf("POST %s", resource_path(doctype)),
	.lookup = lookup,.create = create,.arg = &d};
	bool		created;

	jw_open(&filters, '[');
	jw_open(&body, '{');
	for (int i = 0; i < n; i++)
	{
		const char *field = fields[2 * i],
				   *value = fields[2 * i + 1];
		JsonWriter	cond;

		if (i < keys)
		{
			jw_open(&cond, '[');
			jw_str(&cond, NULL, field);
			jw_str(&cond, NULL, "=");
			jw_str(&cond, NULL, value);
			jw_close(&cond, ']');
			jw_raw(&filters, NULL, cond.buf.data);
		}
		if (value != NULL)
			jw_str(&body, field, value);
	}
	jw_close(&filters, ']');
	jw_close(&body, '}');
	d.filters = filters.buf.data;
	d.body = body.buf.data;
	c.target = psprintf("%s %s", doctype, d.filters);
	if (!create_once(ctx, r, &c, &created))
		return;
	meta_set(ctx, key, d.name);
	step_done(ctx, r, created, "%s %s", doctype, d.name);
}

/* ---------------------------------------------------------------- steps */

static void
step_engine_check(StepContext *ctx, StepResult *r)
{
	const char *known = meta_get(ctx, "api_user");
	JsonbContainer *root;
	char	   *user;

	switch (call(ctx, r, "GET", USER_PATH, NULL, &root))
	{
		case ANSWERED:
			break;
		case FAILED:
			return;
		default:
			step_fail(r, FAIL_PERMANENT, "GET " USER_PATH " is not answered; is this a Frappe site?");
			return;
	}
	if (!jb_str(root, "message", &user))
	{
		step_malformed(r, "GET " USER_PATH, "message is not the API user's name");
		return;
	}
	meta_set(ctx, "api_user", user);
	step_done(ctx, r, known == NULL || strcmp(known, user) != 0, "engine online; the API key belongs to %s", user);
}

static void
step_company(StepContext *ctx, StepResult *r)
{
	const char *fields[] = {"company_name", config_text(ctx, "company_name"), "abbr", config_text(ctx, "abbr"),
	"default_currency", config_text(ctx, "currency"), "country", config_text(ctx, "country")};

	ensure(ctx, r, "Company", "company", 1, 4, fields);
}

static void
step_warehouse(StepContext *ctx, StepResult *r)
{
	const char *fields[] = {"warehouse_name", WAREHOUSE, "company", meta_get(ctx, "company")};

	ensure(ctx, r, "Warehouse", "warehouse", 2, 2, fields);
}

/* ERPNext names a second Customer of one name "... - 1": only create_once keeps it single */
static void
step_customer(StepContext *ctx, StepResult *r)
{
	const char *fields[] = {"customer_name", CUSTOMER};

	ensure(ctx, r, "Customer", "customer", 1, 1, fields);
}

/* ---------------------------------------------------------------- the driver */

static char *
token(const char *api_key, const char *api_secret)
{
	return psprintf("token %s:%s", api_key ? api_key : "", api_secret ? api_secret : "");
}

static bool
sample_begin(StepContext *ctx, StepResult *r)
{
	char	   *auth = token(ctx->engine.api_key, ctx->engine.api_secret);

	http_client_init(&ctx->http, auth, ctx->correlation_id);
	explicit_bzero(auth, strlen(auth));
	pfree(auth);
	return true;
}

static void
sample_probe_request(const EngineAccess *engine, ProbeRequest *request)
{
	request->url = psprintf("%s%s", engine->base_url, USER_PATH);
	request->authorization = token(engine->api_key, engine->api_secret);
	request->body = NULL;
}

static const char *
sample_probe_judge(const HttpResponse *response, char **why)
{
	if (response->outcome == HTTP_OK)
		return "online";
	*why = response->status ? psprintf("the engine answered HTTP %ld", response->status) : pstrdup(response->error);
	return response->outcome == HTTP_UNAUTHORIZED ? "unauthorized" : "offline";
}

/* The desk */
static char *
sample_workspace_path(JsonbContainer *metadata)
{
	return pstrdup("/app");
}

/* The warehouse is the company's; the customer needs only the engine, and is not critical */
static const StepImpl sample_steps[] = {
	{"step_0_engine_check", step_engine_check, true, "always", NO_STEP_DEPS,
	"engine reachable and the API key accepted"},
	{"step_2_company", step_company, true, "always", STEP_DEPS("step_0_engine_check"),
	"the company"},
	{"step_4_warehouses", step_warehouse, true, "always", STEP_DEPS("step_2_company"),
	"warehouse " WAREHOUSE " of the company"},
	{"step_7_customer", step_customer, false, "always", STEP_DEPS("step_0_engine_check"),
	"customer " CUSTOMER},
	{NULL}
};

/* BASIC leaves out the "pos" steps, of which the kind has none: the same steps as FULL_POS */
static const StepCatalog sample_catalogs[] = {
	{"FULL_POS", sample_steps},
	{"BASIC", sample_steps, "pos"},
	{NULL}
};

const EngineDriver sample_driver = {
	.kind = "sample",
	.reachability_step = "step_0_engine_check",
	.begin = sample_begin,
	.probe_request = sample_probe_request,
	.probe_judge = sample_probe_judge,
	.catalogs = sample_catalogs,
	.setting_defaults = "{}",
	.company_names = "folded",
	.workspace_path = sample_workspace_path,
	.test_only = true,
};
