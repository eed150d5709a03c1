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
 */
#include "postgres.h"

#include "utils/json.h"

#include "driver.h"
#include "json.h"
#include "odoo_rpc.h"

#define WALK_IN_CUSTOMER "Walk-In Customer"
#define JSONRPC_PATH "/jsonrpc"

static const struct
{
	const char *name;
	const char *price;
}			demo_products[] =
{
	{"Demo Coffee", "3.5"},
	{"Demo Tea", "2.75"},
	{"Demo Croissant", "2.25"},
};

static OdooSession *
session_of(StepContext *ctx)
{
	return (OdooSession *) ctx->engine_session;
}

static const char *
company_of(StepContext *ctx)
{
	return config_text(ctx, "company_name");
}

static long
meta_id(StepContext *ctx, const char *key)
{
	const char *v = meta_get(ctx, key);

	return v ? strtol(v, NULL, 10) : 0;
}

static void
meta_set_id(StepContext *ctx, const char *key, long id)
{
	meta_set(ctx, key, psprintf("%ld", id));
}

/*
 * Gives the API user access to company cid (res.users company_ids), then puts it in the
 * context of every later call. Creating a company links its creator already; a company
 * made by someone else is linked here.
 */
static bool
grant_company(StepContext *ctx, StepResult *r, long cid)
{
	OdooSession *s = session_of(ctx);
	JsonbContainer *user;
	JsonbContainer *companies;
	bool		linked = false;

	if (!odoo_read(ctx, r, "res.users", s->uid, "[\"company_ids\"]", &user))
		return false;
	if ((companies = jb_array(user, "company_ids")) == NULL)
		return odoo_malformed(r, "res.users", "read", "company_ids is not a list");
	for (int i = 0; i < jb_array_length(companies); i++)
	{
		long		id;

		if (!jb_array_int(companies, i, &id) || id <= 0)
			return odoo_malformed(r, "res.users", "read", "company_ids is not a list of ids");
		if (id == cid)
			linked = true;
	}
	if (!linked &&
		!odoo_write(ctx, r, "res.users", s->uid, psprintf("{\"company_ids\":[[4,%ld]]}", cid)))
		return false;
	s->company = cid;
	return true;
}

/* The tenant's company: known to the run, or found by its name (a retried or resumed run). */
static long
company_id(StepContext *ctx, StepResult *r)
{
	long		cid = meta_id(ctx, "company_id");

	if (cid == 0 &&
		!odoo_search(ctx, r, "res.company", psprintf("[[\"name\",\"=\",%s]]", odoo_quote(company_of(ctx))), &cid))
		return 0;
	if (cid == 0)
	{
		step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
		return 0;
	}
	if (session_of(ctx)->company != cid && !grant_company(ctx, r, cid))
		return 0;
	meta_set_id(ctx, "company_id", cid);
	return cid;
}

/* Is code among the used warehouse codes? Compared as Odoo users read them, ignoring case. */
static bool
code_taken(List *used, const char *code)
{
	ListCell   *lc;

	foreach(lc, used)
		if (lfirst(lc) != NULL && pg_strcasecmp((char *) lfirst(lc), code) == 0)
			return true;
	return false;
}

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

static void
step_company(StepContext *ctx, StepResult *r)
{
	OdooTarget	t = {.model = "res.company"};
	JsonWriter	values;
	long		currency,
				country;
	bool		created;

	if (!odoo_search(ctx, r, "res.currency",
					 psprintf("[[\"name\",\"=\",%s],\"|\",[\"active\",\"=\",true],[\"active\",\"=\",false]]",
							  odoo_quote(config_text(ctx, "currency"))), &currency))
		return;
	if (currency == 0)
	{
		step_fail(r, FAIL_PERMANENT, "the engine has no currency %s", config_text(ctx, "currency"));
		return;
	}
	if (!odoo_search(ctx, r, "res.country",
					 psprintf("[[\"name\",\"=\",%s]]", odoo_quote(config_text(ctx, "country"))), &country))
		return;

	jw_open(&values, '{');
	jw_str(&values, "name", company_of(ctx));
	jw_int(&values, "currency_id", currency);
	if (country != 0)
		jw_int(&values, "country_id", country);
	jw_close(&values, '}');
	t.domain = psprintf("[[\"name\",\"=\",%s]]", odoo_quote(company_of(ctx)));
	t.values = values.buf.data;
	if (!odoo_create_once(ctx, r, &t, &created) || !grant_company(ctx, r, t.id))
		return;
	meta_set(ctx, "company", company_of(ctx));
	meta_set_id(ctx, "company_id", t.id);
	step_done(ctx, r, created, "company %s (res.company %ld), the API user has access to it",
			  company_of(ctx), t.id);
}

/* Odoo 18 links accounts to companies through company_ids, earlier versions company_id. */
static char *
accounts_domain(StepContext *ctx, long cid)
{
	if (session_of(ctx)->version >= 18)
		return psprintf("[[\"company_ids\",\"in\",[%ld]]]", cid);
	return psprintf("[[\"company_id\",\"=\",%ld]]", cid);
}

/*
 * Loads the chart template: 17+ try_loading(code, company) on the abstract model with an
 * empty ids list first; 16 try_loading on the template record, found by its XML id, for
 * env.company (the context's).
 */
static bool
load_chart(StepContext *ctx, StepResult *r, long cid, OdooStatus *st)
{
	const char *code = config_text(ctx, "chart_of_accounts");
	JsonbContainer *answer;
	JsonbContainer *rows;
	long		template = 0;

	if (session_of(ctx)->version >= 17)
	{
		*st = odoo_execute(ctx, r, true, "account.chart.template", "try_loading",
						   psprintf("[[],%s,%ld]", odoo_quote(code), cid), "{\"install_demo\":false}", &answer);
		return true;
	}
	if (strcmp(code, "generic_coa") != 0)
	{
		step_fail(r, FAIL_PERMANENT, "on Odoo 16 the driver loads the generic_coa chart only, not \"%s\"", code);
		return false;
	}
	if (!odoo_search_read(ctx, r, "ir.model.data",
						  "[[\"module\",\"=\",\"l10n_generic_coa\"],[\"name\",\"=\",\"configurable_chart_template\"]]",
						  "[\"res_id\"]", &rows))
		return false;
	if (jb_array_length(rows) > 0 && !odoo_id(jb_array_object(rows, 0), "res_id", &template))
		return odoo_malformed(r, "ir.model.data", "search_read", "res_id is not an id");
	if (template == 0)
	{
		step_fail(r, FAIL_PERMANENT, "the engine has no generic chart template (l10n_generic_coa)");
		return false;
	}
	*st = odoo_execute(ctx, r, true, "account.chart.template", "try_loading", psprintf("[[%ld]]", template),
					   "{\"install_demo\":false}", &answer);
	return true;
}

typedef struct ChartLoad
{
	long		cid;
	long		accounts;
	int			loads;			/* answered loads */
} ChartLoad;

static bool
chart_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
{
	ChartLoad  *c = (ChartLoad *) arg;

	if (!odoo_count(ctx, r, "account.account", accounts_domain(ctx, c->cid), &c->accounts))
		return false;
	*found = c->accounts > 0;
	return true;
}

/*
 * A load that answered yet made no accounts is triggered once more; a second one means
 * the template loads nothing, which no retry changes.
 */
static CreateAnswer
chart_load(StepContext *ctx, StepResult *r, void *arg)
{
	ChartLoad  *c = (ChartLoad *) arg;
	OdooStatus	st;
	bool		found;

	for (;;)
	{
		if (!load_chart(ctx, r, c->cid, &st))
			return CREATE_FAILED;
		if (st == ODOO_UNKNOWN)
			return CREATE_UNKNOWN;
		if (st != ODOO_OK)
			return CREATE_FAILED;
		if (!chart_lookup(ctx, r, c, &found))
			return CREATE_FAILED;
		if (found)
			return CREATE_MADE;
		if (++c->loads >= 2)
		{
			step_fail(r, FAIL_PERMANENT,
					  "the chart template \"%s\" loaded no accounts for %s, also when triggered again; check settings.chart_of_accounts (for example \"generic_coa\")",
					  config_text(ctx, "chart_of_accounts"), company_of(ctx));
			return CREATE_FAILED;
		}
	}
}

static void
step_chart_of_accounts(StepContext *ctx, StepResult *r)
{
	ChartLoad	c = {0};
	CreateOnce	once = {.lookup = chart_lookup,.create = chart_load,.arg = &c};
	JsonbContainer *company;
	const char *field = session_of(ctx)->version == 16 ? "chart_template_id" : "chart_template";
	char	   *chart;
	long		template;
	bool		created;

	if ((c.cid = company_id(ctx, r)) == 0)
		return;
	once.target = psprintf("the chart of accounts of res.company %ld", c.cid);
	once.request = "account.chart.template try_loading";
	if (!create_once(ctx, r, &once, &created))
		return;
	if (!odoo_read(ctx, r, "res.company", c.cid, psprintf("[\"%s\",\"partner_id\"]", field), &company))
		return;
	/* for the warehouses, which belong to the company's partner */
	if (!odoo_id(company, "partner_id", &session_of(ctx)->company_partner) ||
		(session_of(ctx)->version == 16 && !odoo_id(company, field, &template)))
	{
		odoo_malformed(r, "res.company", "read", psprintf("partner_id or %s is not an id", field));
		return;
	}
	chart = session_of(ctx)->version == 16 ? psprintf("%ld", template) : jb_text(company, field);
	meta_set_id(ctx, "accounts", c.accounts);
	if (chart)
		meta_set(ctx, "chart_template", chart);
	/* loaded by this run's company step (a country with its own chart), or there before */
	step_done(ctx, r, created || step_status_of(ctx, "step_2_company") == STEP_COMPLETED,
			  "%ld accounts for %s (chart template %s)", c.accounts, company_of(ctx), chart ? chart : "?");
}

static void
step_warehouses(StepContext *ctx, StepResult *r)
{
	static const char *const names[] = {"Main Store", "POS Store"};
	static const char *const codes[] = {"MAIN", "POS"};
	const char *const keys[] = {"main_warehouse_id", "pos_warehouse_id"};
	int			wanted = config_bool(ctx, "pos_store_enabled") ? 2 : 1;
	long		cid = company_id(ctx, r);
	long		partner = session_of(ctx)->company_partner;
	JsonbContainer *company;
	JsonbContainer *existing;
	const char *values[2];
	long		ids[2] = {0, 0};
	OdooBatch	b = {.model = "stock.warehouse",.n = wanted,.names = names,.values = values,.ids = ids,
	.known = true};
	List	   *used = NIL;

	if (cid == 0)
		return;
	/* the company's partner, unless this execution's chart step read it */
	if (partner == 0)
	{
		if (!odoo_read(ctx, r, "res.company", cid, "[\"partner_id\"]", &company))
			return;
		if (!odoo_id(company, "partner_id", &partner))
		{
			odoo_malformed(r, "res.company", "read", "partner_id is not an id");
			return;
		}
	}
	/* the company's warehouses: the codes in use, and ours among them */
	b.domain = psprintf("[[\"company_id\",\"=\",%ld]]", cid);
	if (!odoo_search_read(ctx, r, "stock.warehouse", b.domain, "[\"name\",\"code\"]", &existing))
		return;
	for (int i = 0; i < jb_array_length(existing); i++)
	{
		JsonbContainer *wh = jb_array_object(existing, i);
		char	   *name;
		char	   *code;

		if (!jb_str(wh, "name", &name) || !jb_str(wh, "code", &code))
		{
			odoo_malformed(r, "stock.warehouse", "search_read", "a warehouse's name or code is not text");
			return;
		}
		used = lappend(used, code);
		/* a record of the list has its id (odoo_search_read) */
		for (int k = 0; k < wanted; k++)
			if (ids[k] == 0 && strcmp(name, names[k]) == 0)
				(void) jb_int(wh, "id", &ids[k]);
	}

	for (int i = 0; i < wanted; i++)
	{
		JsonWriter	w;
		char	   *code = pstrdup(codes[i]);

		/* codes are unique per company and at most 5 characters (longer ones are cut) */
		for (int n = 2; code_taken(used, code) && n < 100; n++)
			code = psprintf("%.*s%d", n < 10 ? 4 : 3, codes[i], n);
		used = lappend(used, code);
		jw_open(&w, '{');
		jw_str(&w, "name", names[i]);
		jw_str(&w, "code", code);
		jw_int(&w, "company_id", cid);
		if (partner != 0)
			jw_int(&w, "partner_id", partner);
		jw_close(&w, '}');
		values[i] = w.buf.data;
	}
	if (!odoo_ensure_many(ctx, r, &b))
		return;
	for (int i = 0; i < wanted; i++)
	{
		meta_set_id(ctx, keys[i], ids[i]);
		meta_set(ctx, i == 0 ? "main_warehouse" : "pos_warehouse", names[i]);
	}
	step_done(ctx, r, b.made > 0, "%s (stock.warehouse %ld)%s", names[0], ids[0],
			  wanted > 1 ? psprintf(", %s (stock.warehouse %ld)", names[1], ids[1]) : "");
}

/*
 * The company's settings: its fiscal year ends on 31 December (Odoo's stand-in for a
 * fiscal-year document). Written only when they differ; a company this run made has them.
 */
static void
step_settings(StepContext *ctx, StepResult *r)
{
	long		cid = company_id(ctx, r);
	JsonbContainer *company;
	JsonbContainer *rows;
	char	   *day,
			   *month;
	bool		changed;

	if (cid == 0 ||
		!odoo_search_read(ctx, r, "res.company", psprintf("[[\"id\",\"=\",%ld]]", cid),
						  "[\"fiscalyear_last_day\",\"fiscalyear_last_month\"]", &rows))
		return;
	if ((company = jb_array_object(rows, 0)) == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
		return;
	}
	day = jb_text(company, "fiscalyear_last_day");
	month = jb_text(company, "fiscalyear_last_month");
	changed = day == NULL || strcmp(day, "31") != 0 || month == NULL || strcmp(month, "12") != 0;
	if (changed &&
		!odoo_write(ctx, r, "res.company", cid, "{\"fiscalyear_last_day\":31,\"fiscalyear_last_month\":\"12\"}"))
		return;
	step_done(ctx, r, changed || step_status_of(ctx, "step_2_company") == STEP_COMPLETED,
			  "the fiscal year of %s %s on 31 December", company_of(ctx), changed ? "now ends" : "ends");
}

static void
step_items(StepContext *ctx, StepResult *r)
{
	long		cid = company_id(ctx, r);
	const char *names[lengthof(demo_products)];
	const char *values[lengthof(demo_products)];
	long		ids[lengthof(demo_products)];
	OdooBatch	b = {.model = "product.template",.n = lengthof(demo_products),.names = names,.values = values,
	.ids = ids};

	if (cid == 0)
		return;
	for (int i = 0; i < lengthof(demo_products); i++)
	{
		JsonWriter	w;

		jw_open(&w, '{');
		jw_str(&w, "name", demo_products[i].name);
		jw_raw(&w, "list_price", demo_products[i].price);
		jw_raw(&w, "sale_ok", "true");
		jw_raw(&w, "available_in_pos", "true");
		jw_str(&w, "type", "consu");	/* valid in every version */
		jw_int(&w, "company_id", cid);
		jw_close(&w, '}');
		names[i] = demo_products[i].name;
		values[i] = w.buf.data;
	}
	/* the company's own products, or shared ones */
	b.domain = psprintf("[[\"company_id\",\"in\",[%ld,false]]]", cid);
	if (!odoo_ensure_many(ctx, r, &b))
		return;
	meta_set(ctx, "demo_items", psprintf("%d", (int) lengthof(demo_products)));
	step_done(ctx, r, b.made > 0, "%d demo products available in the POS (%d new)",
			  (int) lengthof(demo_products), b.made);
}

/* Odoo creates a partner twice without complaint: only odoo_create_once keeps it single. */
static void
step_customer(StepContext *ctx, StepResult *r)
{
	long		cid = company_id(ctx, r);
	OdooTarget	t = {.model = "res.partner"};
	JsonWriter	values;
	bool		created;

	if (cid == 0)
		return;
	jw_open(&values, '{');
	jw_str(&values, "name", WALK_IN_CUSTOMER);
	jw_int(&values, "customer_rank", 1);
	jw_int(&values, "company_id", cid);
	jw_close(&values, '}');
	t.domain = psprintf("[[\"name\",\"=\",%s],[\"company_id\",\"in\",[%ld,false]]]",
						odoo_quote(WALK_IN_CUSTOMER), cid);
	t.values = values.buf.data;
	if (!odoo_create_once(ctx, r, &t, &created))
		return;
	meta_set(ctx, "customer", WALK_IN_CUSTOMER);
	meta_set_id(ctx, "customer_id", t.id);
	step_done(ctx, r, created, "customer %s (res.partner %ld)", WALK_IN_CUSTOMER, t.id);
}

static char *
pos_config_name(StepContext *ctx)
{
	return psprintf("%s POS", company_of(ctx));
}

/* The warehouse the POS sells from, and its POS operation type. */
static bool
pos_warehouse(StepContext *ctx, StepResult *r, long cid, long *warehouse, long *picking_type)
{
	const char *name = config_bool(ctx, "pos_store_enabled") ? "POS Store" : "Main Store";
	JsonbContainer *rows;
	JsonbContainer *rec;

	if (!odoo_search_read(ctx, r, "stock.warehouse",
						  psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(name)),
						  "[\"pos_type_id\"]", &rows))
		return false;
	if ((rec = jb_array_object(rows, 0)) == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "warehouse %s of %s does not exist in the engine", name, company_of(ctx));
		return false;
	}
	if (!odoo_id(rec, "id", warehouse) || !odoo_id(rec, "pos_type_id", picking_type))
		return odoo_malformed(r, "stock.warehouse", "search_read", "pos_type_id is not an id");
	return true;
}

/*
 * The Cash payment method on the company's cash journal (the chart made it). Odoo 17+
 * lets a cash method serve one POS config only, so it is this profile's.
 */
static bool
cash_method(StepContext *ctx, StepResult *r, long cid, long *method)
{
	OdooTarget	t = {.model = "pos.payment.method"};
	JsonWriter	values;
	long		journal;
	bool		created;

	if (!odoo_search(ctx, r, "account.journal",
					 psprintf("[[\"company_id\",\"=\",%ld],[\"type\",\"=\",\"cash\"]]", cid), &journal))
		return false;
	if (journal == 0)
	{
		step_fail(r, FAIL_PERMANENT, "company %s has no cash journal; its chart of accounts is incomplete",
				  company_of(ctx));
		return false;
	}
	jw_open(&values, '{');
	jw_str(&values, "name", "Cash");
	jw_int(&values, "journal_id", journal);
	jw_int(&values, "company_id", cid);
	jw_close(&values, '}');
	t.domain = psprintf("[[\"company_id\",\"=\",%ld],[\"journal_id\",\"=\",%ld]]", cid, journal);
	t.values = values.buf.data;
	if (!odoo_create_once(ctx, r, &t, &created))
		return false;
	*method = t.id;
	return true;
}

/*
 * The POS profile: pos.config with a Cash method. Loading a chart in Odoo 17 makes a
 * config ("Shop") for a company with a warehouse, with Cash/Bank methods: a config the
 * company holds already is adopted, renamed and moved to our warehouse, so the company
 * ends with one config.
 */
static void
step_pos_profile(StepContext *ctx, StepResult *r)
{
	long		cid = company_id(ctx, r);
	char	   *name = pos_config_name(ctx);
	OdooTarget	t = {.model = "pos.config"};
	JsonbContainer *shops;
	JsonbContainer *shop;
	JsonWriter	values;
	long		warehouse,
				picking_type,
				method = 0;
	bool		created = false;
	bool		adopted = false;
	char	   *shop_name = NULL;

	if (cid == 0 || !pos_warehouse(ctx, r, cid, &warehouse, &picking_type))
		return;
	t.domain = psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(name));
	/* the company's configs: ours, or one to adopt */
	if (!odoo_search_read(ctx, r, "pos.config", psprintf("[[\"company_id\",\"=\",%ld]]", cid),
						  "[\"name\",\"payment_method_ids\"]", &shops))
		return;
	for (int i = 0; i < jb_array_length(shops); i++)
	{
		if (!jb_str(jb_array_object(shops, i), "name", &shop_name) ||
			jb_array(jb_array_object(shops, i), "payment_method_ids") == NULL)
		{
			odoo_malformed(r, "pos.config", "search_read", "a config's name or payment_method_ids is malformed");
			return;
		}
		/* a record of the list has its id (odoo_search_read) */
		if (t.id == 0 && strcmp(shop_name, name) == 0)
			(void) jb_int(jb_array_object(shops, i), "id", &t.id);
	}
	if (t.id == 0)
	{
		shop = jb_array_object(shops, 0);
		jw_open(&values, '{');
		jw_str(&values, "name", name);
		jw_int(&values, "company_id", cid);
		jw_int(&values, "warehouse_id", warehouse);
		if (picking_type != 0)
			jw_int(&values, "picking_type_id", picking_type);
		if (shop == NULL || jb_array_length(jb_array(shop, "payment_method_ids")) == 0)
		{
			if (!cash_method(ctx, r, cid, &method))
				return;
			jw_raw(&values, "payment_method_ids", psprintf("[[6,0,[%ld]]]", method));
		}
		jw_close(&values, '}');
		t.values = values.buf.data;
		if (shop != NULL)
		{
			/* a rename: sent again after a lost answer it changes nothing */
			(void) jb_int(shop, "id", &t.id);
			(void) jb_str(shop, "name", &shop_name);
			if (!odoo_write(ctx, r, "pos.config", t.id, t.values))
				return;
			adopted = true;
		}
		else if (!odoo_create_once(ctx, r, &t, &created))
			return;
	}
	meta_set(ctx, "pos_profile", name);
	meta_set_id(ctx, "pos_config_id", t.id);
	session_of(ctx)->pos_config = t.id;
	step_done(ctx, r, created || adopted, "POS config %s (pos.config %ld)%s", name, t.id,
			  adopted ? psprintf(", adopted from \"%s\", made with the chart", shop_name) : "");
}

/*
 * An opened session: 17+ open_ui, 16 open_session_cb make it after the engine's own checks.
 * With cash control it waits in opening_control for the opening cash count.
 */
static void
step_pos_session(StepContext *ctx, StepResult *r)
{
	OdooSession *s = session_of(ctx);
	long		cid = company_id(ctx, r);
	long		config;
	OdooTarget	t = {.model = "pos.session",.method_model = "pos.config",.fields = "[\"name\",\"state\"]"};
	JsonbContainer *answer;
	char	   *state;
	char	   *session_name;
	bool		created;

	if (cid == 0)
		return;
	/* the config this execution's POS profile step found or made; else found by name */
	if ((config = s->pos_config) == 0 &&
		!odoo_search(ctx, r, "pos.config",
					 psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(pos_config_name(ctx))),
					 &config))
		return;
	if (config == 0)
	{
		step_fail(r, FAIL_PERMANENT, "POS config %s does not exist in the engine", pos_config_name(ctx));
		return;
	}
	t.domain = psprintf("[[\"config_id\",\"=\",%ld],[\"state\",\"!=\",\"closed\"]]", config);
	t.method = s->version >= 17 ? "open_ui" : "open_session_cb";
	t.method_args = psprintf("[[%ld]]", config);
	/* the lookup reads the session's name and state (a method's answer says nothing of it) */
	if (!odoo_create_once(ctx, r, &t, &created))
		return;
	if (!jb_str(t.record, "state", &state))
	{
		odoo_malformed(r, "pos.session", "search_read", "the session's state is not text");
		return;
	}
	if (!jb_str(t.record, "name", &session_name))
		session_name = "?";
	if (strcmp(state, "opening_control") == 0)
	{
		/* the opening cash count; sent again it finds the session opened */
		if (odoo_execute(ctx, r, true, "pos.session", "set_cashbox_pos",
						 psprintf("[[%ld],0.0,\"opened by provisioning\"]", t.id), NULL, &answer) != ODOO_OK)
			return;
		/* it returns None, which Odoo answers with no result: one does not say it was applied */
		if (jb_has(answer, "result"))
		{
			odoo_malformed(r, "pos.session", "set_cashbox_pos", "a result, where the method returns none");
			return;
		}
		created = true;
	}
	else if (strcmp(state, "opened") != 0)
	{
		step_fail(r, FAIL_PERMANENT, "POS session %ld is %s, not opened", t.id, state);
		return;
	}
	meta_set_id(ctx, "pos_session_id", t.id);
	step_done(ctx, r, created, "POS session %s (pos.session %ld) is opened", session_name, t.id);
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
	{"step_2_company", step_company, true, "always", STEP_DEPS("step_0_engine_check"),
	"the company (res.company), and the API user's access to it"},
	/* the company, and whether this run made it */
	{"step_3_chart_of_accounts", step_chart_of_accounts, true, "always", STEP_DEPS("step_2_company"),
	"the chart template loaded for the company, with its accounts and journals"},
	{"step_4_warehouses", step_warehouses, true, "always", STEP_DEPS("step_2_company"),
	"Main Store, and POS Store when pos_store_enabled (stock.warehouse)"},
	/* after the chart, which may set the company's fiscal year */
	{"step_5_settings", step_settings, true, "always", STEP_DEPS("step_3_chart_of_accounts"),
	"the company's settings"},
	{"step_6_items", step_items, false, "demo_data", STEP_DEPS("step_2_company"),
	"demo products available in the POS when include_demo_data"},
	{"step_7_customer", step_customer, true, "always", STEP_DEPS("step_2_company"),
	"customer Walk-In Customer (res.partner)"},
	/* the cash journal (the chart), the warehouse, and the config the chart may have made */
	{"step_8_pos_profile", step_pos_profile, true, "pos", STEP_DEPS("step_3_chart_of_accounts", "step_4_warehouses"),
	"a Cash payment method and the POS configuration (pos.config)"},
	{"step_9_pos_session", step_pos_session, true, "pos", STEP_DEPS("step_8_pos_profile"),
	"an opened POS session (pos.session)"},
	{NULL}
};

/* BASIC is FULL_POS without the point of sale: the same steps but the "pos" ones */
static const StepCatalog odoo_catalogs[] = {
	{"FULL_POS", odoo_steps},
	{"BASIC", odoo_steps, "pos"},
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
