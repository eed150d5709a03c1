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
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "frappe.h"
#include "json.h"
#include "provisioning.h"

#define WALK_IN_CUSTOMER "Walk-In Customer"
#define CASH "Cash"
#define LOGGED_USER_PATH "/api/method/frappe.auth.get_logged_user"

/* What this execution of the run knows (StepContext.engine_session); never persisted. */
typedef struct ErpnextSession
{
	bool		company_made;	/* the company step created the company, answered */
	bool		profile_made;	/* the POS profile step created the profile, answered */
} ErpnextSession;

/* The Company's fields the POS profile needs, and the metadata keys they are kept under. */
static const char *const company_facts[][2] = {
	{"default_currency", "company_currency"},
	{"default_cash_account", "cash_account"},
	{"write_off_account", "write_off_account"},
	{"cost_center", "cost_center"},
};

static const struct
{
	const char *code;
	const char *name;
	const char *rate;
}			demo_items[] =
{
	{"DEMO-COFFEE", "Demo Coffee", "3.5"},
	{"DEMO-TEA", "Demo Tea", "2.75"},
	{"DEMO-CROISSANT", "Demo Croissant", "2.25"},
};

/* Today in the server's time zone: "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS". */
static void
now_texts(char *date, size_t datelen, char *datetime, size_t dtlen, int *year)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(GetCurrentTimestamp(), &tz, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	snprintf(date, datelen, "%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
	snprintf(datetime, dtlen, "%s %02d:%02d:%02d", date, tm.tm_hour, tm.tm_min, tm.tm_sec);
	*year = tm.tm_year;
}

static const char *
company_of(StepContext *ctx)
{
	return config_text(ctx, "company_name");
}

static ErpnextSession *
session_of(StepContext *ctx)
{
	return (ErpnextSession *) ctx->engine_session;
}

/*
 * May the step take the new company's own documents for absent (see the header)? Only
 * before it sent a write: a retried attempt may have made them.
 */
static bool
known_absent(StepContext *ctx)
{
	return session_of(ctx)->company_made && !step_wrote(ctx);
}

/* Keeps the Company's company_facts from a Company document the engine answered. */
static void
remember_company(StepContext *ctx, JsonbContainer *company)
{
	for (int i = 0; i < lengthof(company_facts); i++)
	{
		char	   *fact;

		/* one that is no text is kept empty: the POS profile reads the company then */
		(void) jb_str(company, company_facts[i][0], &fact);
		meta_set(ctx, company_facts[i][1], fact);
	}
}

/* A metadata value, or NULL when the metadata lacks it or holds it empty. */
static const char *
meta_text(StepContext *ctx, const char *key)
{
	const char *v = meta_get(ctx, key);

	return (v && v[0]) ? v : NULL;
}

/* The company's abbreviation, read from the engine once and kept in the metadata. */
static const char *
company_abbr(StepContext *ctx, StepResult *r)
{
	JsonbContainer *company;
	char	   *abbr;

	if (meta_get(ctx, "company_abbr"))
		return meta_get(ctx, "company_abbr");
	if (frappe_get(ctx, r, "Company", company_of(ctx), &company) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
		return NULL;
	}
	if (!jb_str(company, "abbr", &abbr))
	{
		step_malformed(r, psprintf("GET %s", frappe_resource_path("Company", company_of(ctx))),
					   "the company has no abbreviation");
		return NULL;
	}
	meta_set(ctx, "company_abbr", abbr);
	return abbr;
}

static char *
warehouse_name(const char *base, const char *abbr)
{
	return psprintf("%s - %s", base, abbr);
}

static const char *
pos_user(StepContext *ctx)
{
	const char *user = config_text(ctx, "pos_user");

	return user ? user : meta_get(ctx, "api_user");
}

/* ---------------------------------------------------------------- steps */

static void
step_engine_check(StepContext *ctx, StepResult *r)
{
	JsonbContainer *root;
	const char *known = meta_get(ctx, "api_user");
	char	   *user;

	if (frappe_call(ctx, r, "GET", LOGGED_USER_PATH, NULL, &root) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no frappe.auth.get_logged_user method (HTTP 404); is this ERPNext?");
		return;
	}
	if (!jb_str(root, "message", &user))
	{
		step_malformed(r, "GET " LOGGED_USER_PATH, "message is not the API user's name");
		return;
	}
	meta_set(ctx, "api_user", user);
	step_done(ctx, r, known == NULL || strcmp(known, user) != 0,
			  "engine online; the API key belongs to %s", user);
}

static void
step_fiscal_year(StepContext *ctx, StepResult *r)
{
	char		today[16],
				now[32];
	int			year;
	char	   *filters;
	char	   *name;
	bool		created;
	JsonWriter	body;

	now_texts(today, sizeof(today), now, sizeof(now), &year);
	filters = psprintf("[[\"year_start_date\",\"<=\",\"%s\"],[\"year_end_date\",\">=\",\"%s\"],[\"disabled\",\"=\",0]]",
					   today, today);
	jw_open(&body, '{');
	jw_str(&body, "year", psprintf("%d", year));
	jw_str(&body, "year_start_date", psprintf("%d-01-01", year));
	jw_str(&body, "year_end_date", psprintf("%d-12-31", year));
	jw_close(&body, '}');
	if (!frappe_find_or_insert(ctx, r, "Fiscal Year", filters, false, body.buf.data, &name, &created))
		return;
	meta_set(ctx, "fiscal_year", name);
	step_done(ctx, r, created, "fiscal year %s covers %s", name, today);
}

static void
step_company(StepContext *ctx, StepResult *r)
{
	JsonWriter	body;
	JsonbContainer *doc;
	bool		created;
	char	   *name;
	char	   *abbr;

	jw_open(&body, '{');
	jw_str(&body, "company_name", company_of(ctx));
	if (config_text(ctx, "abbr"))
		jw_str(&body, "abbr", config_text(ctx, "abbr"));
	jw_str(&body, "default_currency", config_text(ctx, "currency"));
	jw_str(&body, "country", config_text(ctx, "country"));
	jw_str(&body, "create_chart_of_accounts_based_on", "Standard Template");
	jw_str(&body, "chart_of_accounts", config_text(ctx, "chart_of_accounts"));
	jw_close(&body, '}');

	if (!frappe_ensure(ctx, r, "Company", company_of(ctx), body.buf.data, &created, &doc))
		return;
	/* a document, with its name (frappe_create_once) */
	(void) jb_str(doc, "name", &name);
	meta_set(ctx, "company", name);
	if (jb_str(doc, "abbr", &abbr))
		meta_set(ctx, "company_abbr", abbr);
	remember_company(ctx, doc);
	session_of(ctx)->company_made = created;
	step_done(ctx, r, created, "company %s (abbreviation %s)", meta_get(ctx, "company"),
			  abbr ? abbr : "?");
}

static void
step_chart_of_accounts(StepContext *ctx, StepResult *r)
{
	const char *company = company_of(ctx);
	const char *pair[] = {"company", company};
	char	   *filters = frappe_equal_filters(1, pair);
	const char *chart = config_text(ctx, "chart_of_accounts");
	long		accounts;
	JsonWriter	body;
	JsonbContainer *doc;

	if (frappe_count(ctx, r, "Account", filters, &accounts) != FRAPPE_OK)
		return;
	if (accounts > 0)
	{
		/* imported by this run's company step, or there before */
		bool		fresh = step_status_of(ctx, "step_2_company") == STEP_COMPLETED;

		meta_set(ctx, "accounts", psprintf("%ld", accounts));
		step_done(ctx, r, fresh, "%ld accounts for %s", accounts, company);
		return;
	}

	/* Saving the company imports its chart while it has no accounts. */
	jw_open(&body, '{');
	jw_str(&body, "create_chart_of_accounts_based_on", "Standard Template");
	jw_str(&body, "chart_of_accounts", chart);
	jw_close(&body, '}');
	if (frappe_write(ctx, r, "PUT", frappe_resource_path("Company", company), body.buf.data, &doc) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company);
		return;
	}
	/* the import set the company's default accounts */
	if (doc)
		remember_company(ctx, doc);
	if (frappe_count(ctx, r, "Account", filters, &accounts) != FRAPPE_OK)
		return;
	if (accounts == 0)
	{
		step_fail(r, FAIL_PERMANENT,
				  "the chart of accounts \"%s\" created no accounts for %s; check settings.chart_of_accounts (for example \"Standard\")",
				  chart, company);
		return;
	}
	meta_set(ctx, "accounts", psprintf("%ld", accounts));
	step_done(ctx, r, true, "imported %ld accounts for %s", accounts, company);
}

static void
step_warehouses(StepContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	const char *bases[] = {"Main Store", "POS Store"};
	const char *keys[] = {"main_warehouse", "pos_warehouse"};
	int			wanted = config_bool(ctx, "pos_store_enabled") ? 2 : 1;
	const char *names[3];
	const char *docs[2];
	bool		found[3] = {true, false, false};
	FrappeBatch b = {.doctype = "Warehouse",.n = wanted,.names = names + 1,.docs = docs,.found = found + 1,
	.known = true};

	if (abbr == NULL)
		return;
	names[0] = warehouse_name("All Warehouses", abbr);
	for (int i = 0; i < wanted; i++)
		names[i + 1] = warehouse_name(bases[i], abbr);
	/* the parent and the stores in one read, unless the company is this run's own */
	if (!known_absent(ctx) &&
		frappe_names_exist(ctx, r, "Warehouse", wanted + 1, names, found) != FRAPPE_OK)
		return;
	for (int i = 0; i < wanted; i++)
	{
		JsonWriter	body;

		jw_open(&body, '{');
		jw_str(&body, "doctype", "Warehouse");
		jw_str(&body, "warehouse_name", bases[i]);
		jw_str(&body, "company", company_of(ctx));
		if (found[0])
			jw_str(&body, "parent_warehouse", names[0]);
		jw_int(&body, "is_group", 0);
		jw_close(&body, '}');
		docs[i] = body.buf.data;
	}
	if (!frappe_ensure_many(ctx, r, &b))
		return;
	for (int i = 0; i < wanted; i++)
		meta_set(ctx, keys[i], names[i + 1]);
	step_done(ctx, r, b.made > 0, "%s%s%s", meta_get(ctx, "main_warehouse"),
			  wanted > 1 ? ", " : "", wanted > 1 ? meta_get(ctx, "pos_warehouse") : "");
}

/* A field of a site-wide Single, and the value a run fills it with while it is empty. */
typedef struct SingleField
{
	const char *field;
	const char *value;
	bool		check;			/* a Check: it reads 0 or 1 and is never empty */
} SingleField;

/*
 * Fills the empty fields of a site-wide Single (Stock Settings, Selling Settings). Every
 * company of the ERPNext site shares it, so a field set before, by another tenant's run or
 * the site's own setup, is left as it is, and msg says so. A Check counts as empty while
 * the document's first field does (a site's setup sets that one). The write sends back
 * the read's "modified": should another run write the document in between, the engine
 * refuses this write (TimestampMismatchError) instead of this run overwriting that one,
 * and the step's next attempt reads again. *written: a write was needed.
 */
static bool
fill_single(StepContext *ctx, StepResult *r, const char *doctype, int n, const SingleField *fields,
			StringInfo msg, bool *written)
{
	JsonbContainer *doc;
	JsonWriter	body;
	StringInfoData filled,
				left;
	const char *modified;
	bool		untouched = false;

	if (frappe_get(ctx, r, doctype, doctype, &doc) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no %s", doctype);
		return false;
	}
	initStringInfo(&filled);
	initStringInfo(&left);
	jw_open(&body, '{');
	if ((modified = jb_text(doc, "modified")) != NULL)
		jw_str(&body, "modified", modified);
	for (int i = 0; i < n; i++)
	{
		const SingleField *f = &fields[i];
		char	   *have = jb_text(doc, f->field);
		bool		empty = f->check ? untouched : (have == NULL || have[0] == '\0');

		if (i == 0)
			untouched = empty;
		if (have != NULL && strcmp(have, f->value) == 0)
			continue;
		if (!empty)
		{
			appendStringInfo(&left, "%s%s left as \"%s\"", left.len ? ", " : "", f->field, have);
			continue;
		}
		appendStringInfo(&filled, "%s%s set to \"%s\"", filled.len ? ", " : "", f->field, f->value);
		if (f->check)
			jw_int(&body, f->field, strtol(f->value, NULL, 10));
		else
			jw_str(&body, f->field, f->value);
	}
	jw_close(&body, '}');

	appendStringInfo(msg, "%s%s: %s", msg->len ? "; " : "", doctype,
					 filled.len || left.len ? filled.data : "as wanted");
	if (left.len)
		appendStringInfo(msg, "%s%s (site-wide, set before)", filled.len ? ", " : "", left.data);
	*written = filled.len > 0;
	if (!*written)
		return true;
	return frappe_write(ctx, r, "PUT", frappe_resource_path(doctype, doctype), body.buf.data, NULL) == FRAPPE_OK;
}

static void
step_settings(StepContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	StringInfoData msg;
	bool		stock_written,
				selling_written;
	SingleField stock[] = {
		{"default_warehouse", NULL, false},
		{"valuation_method", "FIFO", false},
		{"stock_uom", "Nos", false},
		{"allow_negative_stock", "1", true},
	};
	static const SingleField selling[] = {
		{"customer_group", "Individual", false},
		{"territory", "All Territories", false},
		{"selling_price_list", "Standard Selling", false},
	};

	if (abbr == NULL)
		return;
	stock[0].value = warehouse_name("Main Store", abbr);
	initStringInfo(&msg);
	if (!fill_single(ctx, r, "Stock Settings", lengthof(stock), stock, &msg, &stock_written) ||
		!fill_single(ctx, r, "Selling Settings", lengthof(selling), selling, &msg, &selling_written))
		return;
	step_done(ctx, r, stock_written || selling_written, "%s", msg.data);
}

static void
step_items(StepContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	const char *codes[lengthof(demo_items)];
	const char *docs[lengthof(demo_items)];
	bool		found[lengthof(demo_items)];
	FrappeBatch b = {.doctype = "Item",.n = lengthof(demo_items),.names = codes,.docs = docs,.found = found};

	if (abbr == NULL)
		return;
	for (int i = 0; i < lengthof(demo_items); i++)
	{
		JsonWriter	body;
		JsonWriter	row;

		jw_open(&row, '{');
		jw_str(&row, "company", company_of(ctx));
		jw_str(&row, "default_warehouse", warehouse_name("Main Store", abbr));
		jw_close(&row, '}');

		jw_open(&body, '{');
		jw_str(&body, "doctype", "Item");
		jw_str(&body, "item_code", demo_items[i].code);
		jw_str(&body, "item_name", demo_items[i].name);
		jw_str(&body, "item_group", "Products");
		jw_str(&body, "stock_uom", "Nos");
		jw_int(&body, "is_stock_item", 1);
		jw_int(&body, "is_sales_item", 1);
		jw_raw(&body, "standard_rate", demo_items[i].rate);
		jw_raw(&body, "item_defaults", psprintf("[%s]", row.buf.data));
		jw_close(&body, '}');
		codes[i] = demo_items[i].code;
		docs[i] = body.buf.data;
	}
	/* items are no company's own: always looked up */
	if (!frappe_ensure_many(ctx, r, &b))
		return;
	meta_set(ctx, "demo_items", psprintf("%d", (int) lengthof(demo_items)));
	step_done(ctx, r, b.made > 0, "%d demo items (%d new)", (int) lengthof(demo_items), b.made);
}

static void
step_customer(StepContext *ctx, StepResult *r)
{
	const char *pair[] = {"customer_name", WALK_IN_CUSTOMER};
	char	   *name;
	bool		created;
	JsonWriter	body;

	jw_open(&body, '{');
	jw_str(&body, "customer_name", WALK_IN_CUSTOMER);
	jw_str(&body, "customer_type", "Individual");
	jw_str(&body, "customer_group", "Individual");
	jw_str(&body, "territory", "All Territories");
	jw_close(&body, '}');
	if (!frappe_find_or_insert(ctx, r, "Customer", frappe_equal_filters(1, pair), false, body.buf.data, &name, &created))
		return;
	meta_set(ctx, "customer", name);
	step_done(ctx, r, created, "customer %s", name);
}

/* The Cash mode of payment needs an account row for the company before a POS profile. */
static bool
ensure_cash_account(StepContext *ctx, StepResult *r, const char *cash_account)
{
	FrappeTarget	t = {.doctype = "Mode of Payment Account",.parent = "Mode of Payment",.name = CASH,
	.parent_field = "accounts",.row_key = "company",.row_value = company_of(ctx)};
	JsonWriter	doc;
	JsonWriter	body;
	JsonbContainer *row;
	bool		created;

	jw_open(&doc, '{');
	jw_str(&doc, "doctype", t.doctype);
	jw_str(&doc, "parenttype", t.parent);
	jw_str(&doc, "parent", CASH);
	jw_str(&doc, "parentfield", t.parent_field);
	jw_str(&doc, "company", company_of(ctx));
	jw_str(&doc, "default_account", cash_account);
	jw_close(&doc, '}');
	jw_open(&body, '{');
	jw_str(&body, "doc", doc.buf.data);
	jw_close(&body, '}');
	if (frappe_create_once(ctx, r, &t, "/api/method/frappe.client.insert", body.buf.data, &row, &created))
		return true;
	if (r->status != STEP_FAILED)
		step_fail(r, FAIL_PERMANENT, "the engine has no mode of payment \"%s\"", CASH);
	return false;
}

static char *
pos_profile_name(StepContext *ctx)
{
	return psprintf("%s POS", company_of(ctx));
}

static void
step_pos_profile(StepContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	char	   *name = pos_profile_name(ctx);
	FrappeTarget t = {.doctype = "POS Profile",.name = name};
	JsonbContainer *company;
	JsonbContainer *doc;
	const char *write_off,
			   *cost_center,
			   *cash;
	JsonWriter	body,
				payment,
				user;
	bool		created;

	if (abbr == NULL)
		return;
	/* read in this run's company or chart step, or by a run before; else read now */
	if (meta_text(ctx, "write_off_account") == NULL || meta_text(ctx, "cost_center") == NULL ||
		meta_text(ctx, "cash_account") == NULL)
	{
		if (frappe_get(ctx, r, "Company", company_of(ctx), &company) != FRAPPE_OK)
		{
			if (r->status != STEP_FAILED)
				step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
			return;
		}
		remember_company(ctx, company);
	}
	write_off = meta_text(ctx, "write_off_account");
	cost_center = meta_text(ctx, "cost_center");
	cash = meta_text(ctx, "cash_account");
	if (write_off == NULL || cost_center == NULL || cash == NULL)
	{
		step_fail(r, FAIL_PERMANENT,
				  "company %s has no %s; its chart of accounts is incomplete", company_of(ctx),
				  write_off == NULL ? "write-off account" : cost_center == NULL ? "cost center" : "cash account");
		return;
	}
	if (!ensure_cash_account(ctx, r, cash))
		return;

	jw_open(&payment, '{');
	jw_str(&payment, "mode_of_payment", CASH);
	jw_int(&payment, "default", 1);
	jw_close(&payment, '}');
	jw_open(&user, '{');
	jw_str(&user, "user", pos_user(ctx));
	jw_int(&user, "default", 1);
	jw_close(&user, '}');

	jw_open(&body, '{');
	jw_str(&body, "name", name);
	jw_str(&body, "company", company_of(ctx));
	jw_str(&body, "warehouse", warehouse_name(config_bool(ctx, "pos_store_enabled") ? "POS Store" : "Main Store", abbr));
	jw_str(&body, "currency", meta_text(ctx, "company_currency") ? meta_text(ctx, "company_currency") : config_text(ctx, "currency"));
	jw_str(&body, "write_off_account", write_off);
	jw_str(&body, "write_off_cost_center", cost_center);
	jw_str(&body, "customer", meta_get(ctx, "customer") ? meta_get(ctx, "customer") : WALK_IN_CUSTOMER);
	jw_str(&body, "selling_price_list", "Standard Selling");
	jw_raw(&body, "payments", psprintf("[%s]", payment.buf.data));
	jw_raw(&body, "applicable_for_users", psprintf("[%s]", user.buf.data));
	jw_close(&body, '}');
	t.known_absent = known_absent(ctx);
	if (!frappe_create_once(ctx, r, &t, frappe_resource_path("POS Profile", NULL), body.buf.data, &doc, &created))
		return;
	session_of(ctx)->profile_made = created;
	meta_set(ctx, "pos_profile", name);
	step_done(ctx, r, created, "POS profile %s", name);
}

static void
step_pos_session(StepContext *ctx, StepResult *r)
{
	char	   *profile = pos_profile_name(ctx);
	const char *pairs[] = {"pos_profile", profile, "status", "Open", "docstatus", "1"};
	char	   *name;
	bool		created;
	char		today[16],
				now[32];
	int			year;
	JsonWriter	body,
				row;

	now_texts(today, sizeof(today), now, sizeof(now), &year);
	jw_open(&row, '{');
	jw_str(&row, "mode_of_payment", CASH);
	jw_int(&row, "opening_amount", 0);
	jw_close(&row, '}');
	jw_open(&body, '{');
	jw_str(&body, "pos_profile", profile);
	jw_str(&body, "company", company_of(ctx));
	jw_str(&body, "user", pos_user(ctx));
	jw_str(&body, "period_start_date", now);
	jw_str(&body, "posting_date", today);
	jw_raw(&body, "balance_details", psprintf("[%s]", row.buf.data));
	jw_int(&body, "docstatus", 1);
	jw_close(&body, '}');
	/* a profile this execution made (for a company it made) has no entry yet */
	if (!frappe_find_or_insert(ctx, r, "POS Opening Entry", frappe_equal_filters(3, pairs),
							   session_of(ctx)->profile_made && known_absent(ctx), body.buf.data, &name, &created))
		return;
	meta_set(ctx, "pos_opening_entry", name);
	step_done(ctx, r, created, "POS opening entry %s is open", name);
}

/* ---------------------------------------------------------------- the driver */

/* Frappe's token scheme: "token key:secret" on every request */
static char *
token(const char *api_key, const char *api_secret)
{
	return psprintf("token %s:%s", api_key ? api_key : "", api_secret ? api_secret : "");
}

/* Nothing to log in to: the run's client carries the token. */
static bool
erpnext_begin(StepContext *ctx, StepResult *r)
{
	char	   *auth = token(ctx->engine.api_key, ctx->engine.api_secret);

	ctx->engine_session = MemoryContextAllocZero(session_memory(ctx), sizeof(ErpnextSession));
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
	{"step_1_fiscal_year", step_fiscal_year, true, "always", STEP_DEPS("step_0_engine_check"),
	"a fiscal year covering today"},
	{"step_2_company", step_company, true, "always", STEP_DEPS("step_0_engine_check"),
	"the company"},
	/* the company's accounts; whether this run made the company */
	{"step_3_chart_of_accounts", step_chart_of_accounts, true, "always", STEP_DEPS("step_2_company"),
	"the company's chart of accounts is imported"},
	/* the company's abbreviation names the warehouses */
	{"step_4_warehouses", step_warehouses, true, "always", STEP_DEPS("step_2_company"),
	"Main Store, and POS Store when pos_store_enabled"},
	/* the default warehouse is Main Store */
	{"step_5_settings", step_settings, true, "always", STEP_DEPS("step_4_warehouses"),
	"stock and selling settings"},
	/* item defaults name Main Store */
	{"step_6_items", step_items, false, "demo_data", STEP_DEPS("step_4_warehouses"),
	"demo items when include_demo_data"},
	{"step_7_customer", step_customer, true, "always", STEP_DEPS("step_0_engine_check"),
	"customer Walk-In Customer"},
	/* the company's write-off, cost center and cash accounts, the POS Store, the customer, and
	 * the API user (step 0) as the POS user */
	{"step_8_pos_profile", step_pos_profile, true, "pos",
		STEP_DEPS("step_0_engine_check", "step_3_chart_of_accounts", "step_4_warehouses", "step_7_customer"),
	"POS profile"},
	{"step_9_pos_session", step_pos_session, true, "pos", STEP_DEPS("step_8_pos_profile"),
	"an open, submitted POS opening entry"},
	{NULL}
};

/* BASIC is FULL_POS without the point of sale: the same steps but the "pos" ones */
static const StepCatalog erpnext_catalogs[] = {
	{"FULL_POS", erpnext_steps},
	{"BASIC", erpnext_steps, "pos"},
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
	.probe_request = erpnext_probe_request,
	.probe_judge = erpnext_probe_judge,
	.catalogs = erpnext_catalogs,
	.setting_defaults = "{\"chart_of_accounts\": \"Standard\"}",
	/* MariaDB's utf8mb4_unicode_ci */
	.company_names = "folded",
	.workspace_path = erpnext_workspace_path,
};

