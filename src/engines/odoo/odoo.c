/*
 * odoo.c
 *     The Odoo driver: the steps over Odoo's external API (JSON-RPC, Odoo 17 as the
 *     baseline, with the 16 and 18 differences these calls meet).
 *
 * begin reads the server's version and authenticates (the login in api_key, its API key
 * in api_secret, the database in options.database); every call after it carries the
 * tenant's company in allowed_company_ids once the API user has access to it. Every step
 * reads before it writes, and every create goes through odoo_create_once or
 * odoo_ensure_many, which never send a create again while an earlier one may still be
 * applied by the engine. Odoo Community has no fiscal-year document: the step catalog
 * skips step_1_fiscal_year.
 *
 * Round trips are saved where the API allows without skipping a check: one search_read
 * answers what a search and a read did (a lookup that also reads the fields the step
 * needs); the warehouses and the demo products are looked up in one search_read and the
 * missing ones made in one create of a list (one transaction); and what this execution
 * read or made a step before (the company's partner, the POS config) is not read again.
 *
 * This file is the driver (begin and share, the health probe, the step catalog) and step
 * 0; the other steps are in odoo_company.c (company, chart of accounts, settings),
 * odoo_master_data.c (warehouses, products, customer) and odoo_pos.c (POS config, POS
 * session), sharing odoo.h.
 */
#include "postgres.h"

#include "utils/json.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

#define JSONRPC_PATH "/jsonrpc"

/* ---------------------------------------------------------------- steps */

/* begin authenticated already; the step records who the engine says the key belongs to. */
static void
step_engine_check(StepContext *ctx, StepResult *r)
{
	OdooSession *s = session_of(ctx);
	long		known = meta_id(ctx, "api_uid");

	meta_set_id(ctx, "api_uid", s->uid);
	meta_set(ctx, "engine_version", psprintf("%d", s->version));
	step_done(ctx, r, known != s->uid, "engine online (Odoo %d); the login is user id %ld of database %s",
			  s->version, s->uid, s->database);
}

/* ---------------------------------------------------------------- the driver */

static char *
authenticate_args(const char *database, const char *login, const char *key)
{
	StringInfoData args;

	/* sized up front: the key is not left behind in a reallocated buffer */
	initStringInfo(&args);
	enlargeStringInfo(&args, 2 * (strlen(database) + strlen(login) + strlen(key)) + 16);
	appendStringInfoChar(&args, '[');
	escape_json(&args, database);
	appendStringInfoChar(&args, ',');
	escape_json(&args, login);
	appendStringInfoChar(&args, ',');
	escape_json(&args, key);
	appendStringInfoString(&args, ",{}]");
	return args.data;
}

/* What a step worker's begin takes from its run worker's session instead of logging in */
typedef struct OdooShare
{
	long		uid;
	int			version;
	long		company;
} OdooShare;

StaticAssertDecl(sizeof(OdooShare) <= ENGINE_SESSION_SHARE, "an Odoo session must fit its share");

static void
odoo_share(StepContext *ctx, char *out)
{
	OdooSession *s = session_of(ctx);
	OdooShare	share = {.uid = s->uid, .version = s->version, .company = s->company};

	memcpy(out, &share, sizeof(share));
}

/*
 * The server's version, then common.authenticate: a uid, or false (HTTP 200) for a wrong
 * login or key. Each attempt of the first step calls this until it succeeds. A step
 * worker takes its run worker's login instead (odoo_share): the key was checked in this
 * execution of the run, and every call carries it anyway.
 */
static bool
odoo_begin(StepContext *ctx, StepResult *r)
{
	OdooSession *s;
	JsonbContainer *answer;
	long		major;
	char	   *args;
	OdooStatus	st;

	if (ctx->engine_session == NULL)
	{
		const char *database = jb_text(ctx->engine.options, "database");
		MemoryContext memory = session_memory(ctx);

		if (database == NULL || database[0] == '\0')
		{
			step_fail(r, FAIL_PERMANENT, "the engine's options name no database (options.database)");
			return false;
		}
		s = MemoryContextAllocZero(memory, sizeof(OdooSession));
		s->url = MemoryContextStrdup(memory, psprintf("%s%s", ctx->engine.base_url, JSONRPC_PATH));
		s->database = MemoryContextStrdup(memory, database);
		ctx->engine_session = s;
		http_client_init(&ctx->http, NULL, ctx->correlation_id);
	}
	s = session_of(ctx);
	if (ctx->session_share != NULL)
	{
		OdooShare	share;

		memcpy(&share, ctx->session_share, sizeof(share));
		s->uid = share.uid;
		s->version = share.version;
		s->company = share.company;
		return true;
	}
	if (odoo_rpc(ctx, r, false, "common version", "common", "version", "[]", &answer) != ODOO_OK)
		return false;
	if (!jb_array_int(jb_array(jb_object(answer, "result"), "server_version_info"), 0, &major) ||
		major <= 0 || major > 1000)
		return step_malformed(r, "common version", "it names no server version; is this Odoo?");
	s->version = (int) major;

	args = authenticate_args(s->database, ctx->engine.api_key ? ctx->engine.api_key : "",
							 ctx->engine.api_secret ? ctx->engine.api_secret : "");
	st = odoo_rpc(ctx, r, false, "common authenticate", "common", "authenticate", args, &answer);
	explicit_bzero(args, strlen(args));
	pfree(args);
	if (st != ODOO_OK)
		return false;
	if (jb_false(answer, "result"))
	{
		step_fail(r, FAIL_PERMANENT, "the engine refused the login or API key for database %s (common.authenticate answered false)",
				  s->database);
		return false;
	}
	if (!jb_int(answer, "result", &s->uid) || s->uid <= 0)
		return step_malformed(r, "common authenticate", "the result is neither a user id nor false");
	return true;
}

/* The health probe authenticates, as begin does. */
static void
odoo_probe_request(const EngineAccess *engine, ProbeRequest *request)
{
	const char *database = jb_text(engine->options, "database");
	char	   *args = authenticate_args(database ? database : "", engine->api_key ? engine->api_key : "",
										 engine->api_secret ? engine->api_secret : "");

	request->url = psprintf("%s%s", engine->base_url, JSONRPC_PATH);
	request->authorization = NULL;
	request->body = odoo_envelope(1, "common", "authenticate", args);
	explicit_bzero(args, strlen(args));
	pfree(args);
}

/* A uid is online; false (HTTP 200!) or AccessDenied is unauthorized; anything else offline. */
static const char *
odoo_probe_judge(const HttpResponse *response, char **why)
{
	Jsonb	   *json;
	JsonbContainer *error;
	long		uid;
	char	   *name;

	if (response->outcome != HTTP_OK)
	{
		*why = response->status != 0 ? psprintf("the engine answered HTTP %ld", response->status)
			: pstrdup(response->error);
		return "offline";
	}
	json = jb_parse(response->body.data, response->body.len);
	if (json == NULL || !JsonContainerIsObject(&json->root))
	{
		*why = pstrdup("the engine's answer is not JSON-RPC; is this Odoo?");
		return "offline";
	}
	if ((error = jb_object(&json->root, "error")) != NULL)
	{
		JsonbContainer *data = jb_object(error, "data");

		name = data ? jb_text(data, "name") : NULL;
		*why = psprintf("%s: %s", name ? name : "error",
						data && jb_text(data, "message") ? jb_text(data, "message") : "(no message)");
		return (name && strcmp(name, "odoo.exceptions.AccessDenied") == 0) ? "unauthorized" : "offline";
	}
	if (jb_int(&json->root, "result", &uid) && uid > 0)
		return "online";
	if (!jb_false(&json->root, "result"))
	{
		*why = pstrdup("the engine's answer to authenticate is neither a user id nor false; is this Odoo?");
		return "offline";
	}
	*why = pstrdup("the engine refused the login or API key (authenticate answered false)");
	return "unauthorized";
}

/* The provisioning steps: what each step reads from earlier ones is the run's critical path. */
static const StepImpl odoo_steps[] = {
	{"step_0_engine_check", step_engine_check, true, "always", NO_STEP_DEPS,
	"engine reachable and the login and API key accepted"},
	{"step_1_fiscal_year", NULL, true, "unsupported", STEP_DEPS("step_0_engine_check"),
	"Odoo Community has no fiscal-year document"},
	{"step_2_company", odoo_step_company, true, "always", STEP_DEPS("step_0_engine_check"),
	"the company (res.company), and the API user's access to it"},
	/* the company, and whether this run made it */
	{"step_3_chart_of_accounts", odoo_step_chart_of_accounts, true, "always", STEP_DEPS("step_2_company"),
	"the chart template loaded for the company, with its accounts and journals"},
	{"step_4_warehouses", odoo_step_warehouses, true, "always", STEP_DEPS("step_2_company"),
	"Main Store, and POS Store when pos_store_enabled (stock.warehouse)"},
	/* after the chart, which may set the company's fiscal year */
	{"step_5_settings", odoo_step_settings, true, "always", STEP_DEPS("step_3_chart_of_accounts"),
	"the company's settings"},
	{"step_6_items", odoo_step_items, false, "demo_data", STEP_DEPS("step_2_company"),
	"demo products available in the POS when include_demo_data"},
	{"step_7_customer", odoo_step_customer, true, "always", STEP_DEPS("step_2_company"),
	"customer Walk-In Customer (res.partner)"},
	/* the cash journal (the chart), the warehouse, and the config the chart may have made */
	{"step_8_pos_profile", odoo_step_pos_profile, true, "pos", STEP_DEPS("step_3_chart_of_accounts", "step_4_warehouses"),
	"a Cash payment method and the POS configuration (pos.config)"},
	{"step_9_pos_session", odoo_step_pos_session, true, "pos", STEP_DEPS("step_8_pos_profile"),
	"an opened POS session (pos.session)"},
	{NULL}
};

/*
 * VERIFY: each provisioning step's record read back, writing nothing. Not critical, so that
 * every check runs; independent, so that they run at once.
 */
static const StepImpl odoo_verify_steps[] = {
	{"step_0_engine_check", odoo_verify_engine, false, "always", NO_STEP_DEPS,
	"the engine answers, and the login is the user the provisioning recorded"},
	{"step_1_fiscal_year", NULL, false, "unsupported", NO_STEP_DEPS,
	"Odoo Community has no fiscal-year document"},
	{"step_2_company", odoo_verify_company, false, "always", NO_STEP_DEPS,
	"the company exists, active, with its name; the API user has access to it"},
	{"step_3_chart_of_accounts", odoo_verify_chart, false, "always", NO_STEP_DEPS,
	"the company has accounts"},
	{"step_4_warehouses", odoo_verify_warehouses, false, "always", NO_STEP_DEPS,
	"the recorded warehouses exist, active, of the company"},
	{"step_5_settings", odoo_verify_settings, false, "always", NO_STEP_DEPS,
	"the company's fiscal year ends on 31 December"},
	{"step_6_items", odoo_verify_items, false, "demo_data", NO_STEP_DEPS,
	"the demo products exist, active, available in the POS"},
	{"step_7_customer", odoo_verify_customer, false, "always", NO_STEP_DEPS,
	"the recorded walk-in customer exists, active"},
	{"step_8_pos_profile", odoo_verify_pos_config, false, "pos", NO_STEP_DEPS,
	"the recorded POS config exists, active, on the recorded warehouse and operation type"},
	{"step_9_pos_session", odoo_verify_pos_session, false, "pos", NO_STEP_DEPS,
	"the recorded POS session is opened"},
	{NULL}
};

/* Suspending: the session closed before its config is archived (B2) */
static const StepImpl odoo_suspend_steps[] = {
	{"suspend_1_close_session", odoo_step_close_session, true, "always", NO_STEP_DEPS,
	"the open POS session (pos.session) closed, as the POS closes it"},
	{"suspend_2_disable_pos", odoo_step_disable_pos, true, "always", STEP_DEPS("suspend_1_close_session"),
	"the POS config (pos.config) archived"},
	{NULL}
};

/* Resuming: an archived config (or company) opens no session */
static const StepImpl odoo_resume_steps[] = {
	{"resume_1_enable_pos", odoo_step_enable_pos, true, "always", NO_STEP_DEPS,
	"the POS config unarchived, and the company and its warehouses after an offboarding"},
	{"resume_2_open_session", odoo_step_reopen_session, true, "always", STEP_DEPS("resume_1_enable_pos"),
	"a new opened POS session on the config"},
	{NULL}
};

/*
 * Offboarding: the point of sale closed as a suspend closes it, every record exported, then
 * archived: the company last (its records are read and archived with it in the context).
 */
static const StepImpl odoo_offboard_steps[] = {
	{"offboard_1_close_session", odoo_step_close_session, true, "always", NO_STEP_DEPS,
	"the open POS session (pos.session) closed, as the POS closes it"},
	{"offboard_2_disable_pos", odoo_step_disable_pos, true, "always", STEP_DEPS("offboard_1_close_session"),
	"the POS config (pos.config) archived"},
	/* no sale comes into an archived config's closed session */
	{"offboard_3_export", odoo_step_export, true, "always", STEP_DEPS("offboard_2_disable_pos"),
	"every record of the company's, its POS orders with their lines and payments, exported"},
	{"offboard_4_archive", odoo_step_archive, true, "always", STEP_DEPS("offboard_3_export"),
	"the company's POS configs, its warehouses and the company archived"},
	{NULL}
};

/* BASIC is FULL_POS without the point of sale: the same steps but the "pos" ones */
static const StepCatalog odoo_catalogs[] = {
	{"FULL_POS", odoo_steps},
	{"BASIC", odoo_steps, "pos"},
	{"VERIFY", odoo_verify_steps},
	{"SUSPEND", odoo_suspend_steps},
	{"RESUME", odoo_resume_steps},
	{"OFFBOARD", odoo_offboard_steps},
	{NULL}
};

/* The POS UI of the run's pos.config once it has one, else the web client */
static char *
odoo_workspace_path(JsonbContainer *metadata)
{
	char	   *config = jb_text(metadata, "pos_config_id");

	if (config == NULL || config[0] == '\0' || strspn(config, "0123456789") != strlen(config))
		return pstrdup("/web");
	return psprintf("/pos/ui?config_id=%s", config);
}

const EngineDriver odoo_driver = {
	.kind = "odoo",
	.reachability_step = "step_0_engine_check",
	.begin = odoo_begin,
	.share = odoo_share,
	.probe_request = odoo_probe_request,
	.probe_judge = odoo_probe_judge,
	.catalogs = odoo_catalogs,
	.setting_defaults = "{\"chart_of_accounts\": \"generic_coa\"}",
	/* res.company's name with PostgreSQL's = (Odoo trims a Char only in its web client) */
	.company_names = "exact",
	.workspace_path = odoo_workspace_path,
};
