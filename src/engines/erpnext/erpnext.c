/*
 * erpnext.c
 *     The ERPNext driver: the ten steps over Frappe's REST API (v1 paths).
 *
 * Every step reads before it writes. Lookups go by the document's name where the
 * name is ours to choose (Company, Warehouse, Item, POS Profile), and by a filter
 * where the engine names the document (Fiscal Year covering today, the customer by
 * customer_name, the open POS Opening Entry of the profile). A Customer must never be
 * POSTed blindly: ERPNext answers a duplicate with a new "Walk-In Customer - 1", not 409.
 * The Frappe client (frappe.c) does the requests, and every create goes through
 * frappe_create_once or frappe_ensure_many, which never send a create again while an
 * earlier one may still be applied by the engine.
 *
 * Round trips are saved where the API allows without skipping a check:
 *  - several documents of one doctype are read in one list request (a name "in" filter)
 *    and the missing ones made in one frappe.client.insert_many (one transaction);
 *  - the Company's accounts, cost center and currency, which the company step reads or
 *    makes anyway, are kept in the run's metadata for the POS profile; it reads the
 *    Company again only when they are not there (an older run's metadata);
 *  - "known absent": when the company step of this execution of the run created the
 *    company (an answered POST: the engine did not hold it before), documents that can
 *    belong to that company only cannot exist unless this run made them: its Main and
 *    POS Store, its POS profile and, once this execution created that profile too, the
 *    profile's open POS Opening Entry; and its "All Warehouses" group exists (ERPNext
 *    makes it with the company). The site-wide Stock Settings are not among them: another
 *    tenant may have set them, so they are always read. A step skips their first lookup
 *    only while it has sent no write yet, so a retried attempt, whose earlier write may
 *    have been applied, looks everything up; every create still goes through the
 *    settle-safe path, and a name-keyed create answered 409 is looked up. The fact lives
 *    in the driver's session, never persisted: a resumed run, a rerun or a retry (the
 *    company found, not created) looks everything up. It does not hold for the Cash
 *    mode of payment's account row: ERPNext adds that row itself when it saves a
 *    company, so it is always looked up.
 *
 * This file is the driver (begin, the health probe, the step catalogs) and step 0; the
 * other steps are in erpnext_company.c (fiscal year, company, chart of accounts),
 * erpnext_master_data.c (warehouses, settings, items, customer), erpnext_pos.c (POS
 * profile, POS opening entry), erpnext_verify.c (verifying), erpnext_lifecycle.c
 * (suspending, offboarding, resuming) and erpnext_export.c (the offboarding's export),
 * sharing erpnext.h.
 */
#include "postgres.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"
#include "provisioning.h"

#define LOGGED_USER_PATH "/api/method/frappe.auth.get_logged_user"

/*
 * May the step take the new company's own documents for absent (see the header)? Only
 * before it sent a write: a retried attempt may have made them.
 */
bool
erpnext_known_absent(StepContext *ctx)
{
	return session_of(ctx)->company_made && !step_wrote(ctx);
}

/* ---------------------------------------------------------------- steps */

/* Who the API key belongs to, as the engine answers; NULL with the result failed. */
char *
erpnext_logged_user(StepContext *ctx, StepResult *r)
{
	JsonbContainer *root;
	char	   *user;

	if (frappe_call(ctx, r, "GET", LOGGED_USER_PATH, NULL, &root) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no frappe.auth.get_logged_user method (HTTP 404); is this ERPNext?");
		return NULL;
	}
	if (!jb_str(root, "message", &user))
	{
		step_malformed(r, "GET " LOGGED_USER_PATH, "message is not the API user's name");
		return NULL;
	}
	return user;
}

static void
step_engine_check(StepContext *ctx, StepResult *r)
{
	const char *known = meta_get(ctx, "api_user");
	char	   *user = erpnext_logged_user(ctx, r);

	if (user == NULL)
		return;
	meta_set(ctx, "api_user", user);
	step_done(ctx, r, known == NULL || strcmp(known, user) != 0,
			  "engine online; the API key belongs to %s", user);
}

/* ---------------------------------------------------------------- the driver */

/* Frappe's token scheme: "token key:secret" on every request */
static char *
token(const char *api_key, const char *api_secret)
{
	return psprintf("token %s:%s", api_key ? api_key : "", api_secret ? api_secret : "");
}

/* Nothing to log in to: the run's client carries the token. */
/*
 * A step worker is part of its run worker's execution of the run: what that execution
 * knows (the company it created) holds for the step worker too, and what the step worker
 * learns comes back with its outcome (erpnext_absorb).
 */
static void
erpnext_share(StepContext *ctx, char *share)
{
	StaticAssertStmt(sizeof(ErpnextSession) <= ENGINE_SESSION_SHARE, "the session must fit in a share");
	memcpy(share, session_of(ctx), sizeof(ErpnextSession));
}

/* What a step worker's session learned: the company or the profile it created */
static void
erpnext_absorb(StepContext *ctx, const char *share)
{
	ErpnextSession learned;

	memcpy(&learned, share, sizeof(learned));
	session_of(ctx)->company_made |= learned.company_made;
	session_of(ctx)->profile_made |= learned.profile_made;
}

static bool
erpnext_begin(StepContext *ctx, StepResult *r)
{
	char	   *auth = token(ctx->engine.api_key, ctx->engine.api_secret);

	ctx->engine_session = MemoryContextAllocZero(session_memory(ctx), sizeof(ErpnextSession));
	if (ctx->session_share != NULL)
		memcpy(ctx->engine_session, ctx->session_share, sizeof(ErpnextSession));
	http_client_init(&ctx->http, auth, ctx->correlation_id);
	explicit_bzero(auth, strlen(auth));
	pfree(auth);
	return true;
}

/* The health probe asks who the key belongs to, as step 0 does. */
static void
erpnext_probe_request(const EngineAccess *engine, ProbeRequest *request)
{
	request->url = psprintf("%s%s", engine->base_url, LOGGED_USER_PATH);
	request->authorization = token(engine->api_key, engine->api_secret);
	request->body = NULL;
}

/* Frappe answers a refused key with 401/403 and anything else it cannot do with its status. */
static const char *
erpnext_probe_judge(const HttpResponse *response, char **why)
{
	if (response->outcome == HTTP_OK)
		return "online";
	if (response->outcome == HTTP_UNAUTHORIZED)
	{
		*why = psprintf("the engine refused the API key (HTTP %ld)", response->status);
		return "unauthorized";
	}
	*why = response->status != 0 ? psprintf("the engine answered HTTP %ld", response->status)
		: pstrdup(response->error);
	return "offline";
}

/* The provisioning steps: what each step reads from earlier ones is the run's critical path. */
static const StepImpl erpnext_steps[] = {
	{"step_0_engine_check", step_engine_check, true, "always", NO_STEP_DEPS,
	"engine reachable and the API key accepted"},
	/* nothing is touched before the engine answered and accepted the key */
	{"step_1_fiscal_year", erpnext_step_fiscal_year, true, "always", STEP_DEPS("step_0_engine_check"),
	"a fiscal year covering today"},
	{"step_2_company", erpnext_step_company, true, "always", STEP_DEPS("step_0_engine_check"),
	"the company"},
	/* the company's accounts; whether this run made the company */
	{"step_3_chart_of_accounts", erpnext_step_chart_of_accounts, true, "always", STEP_DEPS("step_2_company"),
	"the company's chart of accounts is imported"},
	/* the company's abbreviation names the warehouses */
	{"step_4_warehouses", erpnext_step_warehouses, true, "always", STEP_DEPS("step_2_company"),
	"Main Store, and POS Store when pos_store_enabled"},
	/* the default warehouse is Main Store */
	{"step_5_settings", erpnext_step_settings, true, "always", STEP_DEPS("step_4_warehouses"),
	"stock and selling settings"},
	/* item defaults name Main Store */
	{"step_6_items", erpnext_step_items, false, "demo_data", STEP_DEPS("step_4_warehouses"),
	"demo items when include_demo_data"},
	{"step_7_customer", erpnext_step_customer, true, "always", STEP_DEPS("step_0_engine_check"),
	"customer Walk-In Customer"},
	/* the company's write-off, cost center and cash accounts, the POS Store, the customer, and
	 * the API user (step 0) as the POS user */
	{"step_8_pos_profile", erpnext_step_pos_profile, true, "pos",
		STEP_DEPS("step_0_engine_check", "step_3_chart_of_accounts", "step_4_warehouses", "step_7_customer"),
	"POS profile"},
	{"step_9_pos_session", erpnext_step_pos_session, true, "pos", STEP_DEPS("step_8_pos_profile"),
	"an open, submitted POS opening entry"},
	{NULL}
};

/* Suspending: the session first, since ERPNext refuses to disable a profile with one open */
static const StepImpl erpnext_suspend_steps[] = {
	{"suspend_1_close_session", erpnext_step_close_session, true, "always", NO_STEP_DEPS,
	"the open POS opening entry closed by a submitted POS closing entry"},
	{"suspend_2_disable_pos", erpnext_step_disable_pos, true, "always", STEP_DEPS("suspend_1_close_session"),
	"the POS profile disabled"},
	{NULL}
};

/* Resuming: a disabled profile opens no session */
static const StepImpl erpnext_resume_steps[] = {
	{"resume_1_enable_pos", erpnext_step_enable_pos, true, "always", NO_STEP_DEPS,
	"the POS profile enabled"},
	{"resume_2_open_session", erpnext_step_reopen_session, true, "always", STEP_DEPS("resume_1_enable_pos"),
	"a new open, submitted POS opening entry on the profile"},
	{NULL}
};

/*
 * Verifying: each provisioning step's key, reading back what it recorded, writing nothing.
 * Every check runs (none is critical), and none waits for another: each reads its own.
 */
static const StepImpl erpnext_verify_steps[] = {
	{"step_0_engine_check", erpnext_verify_engine, false, "always", NO_STEP_DEPS,
	"engine reachable, the API key still the provisioning's user"},
	{"step_1_fiscal_year", erpnext_verify_fiscal_year, false, "always", NO_STEP_DEPS,
	"the recorded fiscal year exists, not disabled"},
	{"step_2_company", erpnext_verify_company, false, "always", NO_STEP_DEPS,
	"the recorded company exists"},
	{"step_3_chart_of_accounts", erpnext_verify_chart_of_accounts, false, "always", NO_STEP_DEPS,
	"the company has accounts"},
	{"step_4_warehouses", erpnext_verify_warehouses, false, "always", NO_STEP_DEPS,
	"the recorded warehouses exist, not disabled, of the company"},
	{"step_5_settings", erpnext_verify_settings, false, "always", NO_STEP_DEPS,
	"the stock and selling settings the provisioning fills are set"},
	{"step_6_items", erpnext_verify_items, false, "demo_data", NO_STEP_DEPS,
	"the demo items exist, not disabled"},
	{"step_7_customer", erpnext_verify_customer, false, "always", NO_STEP_DEPS,
	"the recorded customer exists, not disabled"},
	{"step_8_pos_profile", erpnext_verify_pos_profile, false, "pos", NO_STEP_DEPS,
	"the recorded POS profile exists, not disabled, on its warehouse"},
	{"step_9_pos_session", erpnext_verify_pos_session, false, "pos", NO_STEP_DEPS,
	"the recorded POS opening entry is open"},
	{NULL}
};

/*
 * Offboarding: the point of sale closed as a suspend closes it (the same steps), then every
 * document of the company exported, then what is the tenant's alone disabled: the export
 * reads the warehouses and profile as they were in service.
 */
static const StepImpl erpnext_offboard_steps[] = {
	{"offboard_1_close_session", erpnext_step_close_session, true, "always", NO_STEP_DEPS,
	"the open POS opening entry closed by a submitted POS closing entry"},
	{"offboard_2_disable_pos", erpnext_step_disable_pos, true, "always", STEP_DEPS("offboard_1_close_session"),
	"the POS profile disabled"},
	/* the closing entry's merge made the consolidated sales invoices */
	{"offboard_3_export", erpnext_step_export, true, "always", STEP_DEPS("offboard_2_disable_pos"),
	"every document of the company exported into tenant_exports, counted against the engine"},
	{"offboard_4_archive", erpnext_step_archive, true, "always", STEP_DEPS("offboard_3_export"),
	"the company's warehouses and the POS profile disabled; nothing deleted"},
	{NULL}
};

/* BASIC is FULL_POS without the point of sale: the same steps but the "pos" ones */
static const StepCatalog erpnext_catalogs[] = {
	{"FULL_POS", erpnext_steps},
	{"BASIC", erpnext_steps, "pos"},
	{"VERIFY", erpnext_verify_steps},
	{"SUSPEND", erpnext_suspend_steps},
	{"RESUME", erpnext_resume_steps},
	{"OFFBOARD", erpnext_offboard_steps},
	{NULL}
};

/* The desk's point-of-sale page once the run made a POS profile, else the desk */
static char *
erpnext_workspace_path(JsonbContainer *metadata)
{
	return pstrdup(jb_has(metadata, "pos_profile") ? "/app/point-of-sale" : "/app");
}

const EngineDriver erpnext_driver = {
	.kind = "erpnext",
	.reachability_step = "step_0_engine_check",
	.begin = erpnext_begin,
	.share = erpnext_share,
	.absorb = erpnext_absorb,
	.probe_request = erpnext_probe_request,
	.probe_judge = erpnext_probe_judge,
	.catalogs = erpnext_catalogs,
	.setting_defaults = "{\"chart_of_accounts\": \"Standard\"}",
	/* MariaDB's utf8mb4_unicode_ci */
	.company_names = "folded",
	.workspace_path = erpnext_workspace_path,
};
