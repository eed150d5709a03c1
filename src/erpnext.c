/*
 * erpnext.c
 *     The ERPNext driver: the ten steps over Frappe's REST API (v1 paths).
 *
 * Every step reads before it writes. Lookups go by the document's name where the
 * name is ours to choose (Company, Warehouse, Item, POS Profile), and by a filter
 * where the engine names the document (Fiscal Year covering today, the customer by
 * customer_name, the open POS Opening Entry of the profile). A Customer must never be
 * POSTed blindly: ERPNext answers a duplicate with a new "Walk-In Customer - 1", not 409.
 * Every create goes through erp_create_once, which never sends a create again while an
 * earlier one may still be applied by the engine.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "json.h"
#include "provisioning.h"

#define WALK_IN_CUSTOMER "Walk-In Customer"
#define CASH "Cash"

typedef enum ErpStatus
{
	ERP_OK,
	ERP_NOT_FOUND,
	ERP_CONFLICT,
	ERP_UNKNOWN,				/* a write was sent and no answer tells its fate */
	ERP_FAILED					/* the result holds the failure */
} ErpStatus;

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

/* Frappe wraps messages twice: a JSON string holding a list of JSON strings. */
static void
append_server_messages(StringInfo out, const char *encoded)
{
	Jsonb	   *list = jb_parse(encoded, strlen(encoded));

	if (list == NULL || !JsonContainerIsArray(&list->root))
		return;
	for (int i = 0; i < jb_array_length(&list->root); i++)
	{
		char	   *item = jb_array_text(&list->root, i);
		Jsonb	   *msg = item ? jb_parse(item, strlen(item)) : NULL;
		char	   *text = msg ? jb_text(&msg->root, "message") : item;
		bool		in_tag = false;

		if (text == NULL)
			continue;
		if (out->len > 0)
			appendStringInfoString(out, "; ");
		/* the messages carry HTML such as <strong>; keep the text */
		for (const char *c = text; *c; c++)
		{
			if (*c == '<')
				in_tag = true;
			else if (*c == '>')
				in_tag = false;
			else if (!in_tag)
				appendStringInfoChar(out, *c);
		}
	}
}

/* A person-readable reason from an engine error response. */
static char *
error_reason(HttpResponse *resp)
{
	StringInfoData out;
	Jsonb	   *body;
	char	   *exc_type = NULL;
	char	   *messages;

	if (resp->status == 0)
		return pstrdup(resp->error);

	initStringInfo(&out);
	body = jb_parse(resp->body.data, resp->body.len);
	if (body != NULL && JsonContainerIsObject(&body->root))
	{
		exc_type = jb_text(&body->root, "exc_type");
		messages = jb_text(&body->root, "_server_messages");
		if (messages)
			append_server_messages(&out, messages);
		if (out.len == 0 && (messages = jb_text(&body->root, "exception")) != NULL)
			appendStringInfoString(&out, messages);
	}
	if (out.len == 0)
		return psprintf("HTTP %ld%s%s", resp->status, exc_type ? " " : "", exc_type ? exc_type : "");
	return psprintf("HTTP %ld %s: %s", resp->status, exc_type ? exc_type : "error", out.data);
}

/*
 * Sends one request. 404 and 409 are answers the caller interprets; any other
 * failure is classified into the result. A GET that fails transiently is sent again
 * right here, up to provisioning.http_retries times; a write is not, because the
 * engine may have applied it: its step is retried instead (as many times), and reads
 * first. An engine that cannot be reached at all is left to the step's retries.
 */
static ErpStatus
erp_call(RunContext *ctx, StepResult *r, const char *method, const char *path,
		 const char *body, JsonbContainer **root)
{
	HttpResponse resp = {0};
	char	   *url = psprintf("%s%s", ctx->base_url, path);
	Jsonb	   *json;
	const char *what = strchr(path, '?') ? pnstrdup(path, strchr(path, '?') - path) : path;

	*root = NULL;
	http_request(&ctx->http, method, url, body, &resp);
	for (int attempt = 1; strcmp(method, "GET") == 0 && attempt <= prov_http_retries &&
		 resp.outcome == HTTP_TRANSIENT; attempt++)
	{
		backoff_sleep(attempt, resp.retry_after_s);
		http_request(&ctx->http, method, url, body, &resp);
	}
	switch (resp.outcome)
	{
		case HTTP_OK:
			json = jb_parse(resp.body.data, resp.body.len);
			if (json == NULL || !JsonContainerIsObject(&json->root))
			{
				step_fail(r, FAIL_TRANSIENT, "%s %s: the engine answered HTTP %ld with no JSON object",
						  method, what, resp.status);
				return ERP_FAILED;
			}
			*root = &json->root;
			return ERP_OK;
		case HTTP_NOT_FOUND:
			return ERP_NOT_FOUND;
		case HTTP_CONFLICT:
			step_fail(r, FAIL_PERMANENT, "%s %s: %s", method, what, error_reason(&resp));
			return ERP_CONFLICT;
		case HTTP_UNAUTHORIZED:
			step_fail(r, FAIL_PERMANENT, "the engine refused the API key: %s %s: %s",
					  method, what, error_reason(&resp));
			return ERP_FAILED;
		case HTTP_REJECTED:
			step_fail(r, FAIL_PERMANENT, "%s %s: %s", method, what, error_reason(&resp));
			return ERP_FAILED;
		case HTTP_TRANSIENT:
			step_fail(r, FAIL_TRANSIENT, "%s %s: %s", method, what, error_reason(&resp));
			r->retry_after_s = resp.retry_after_s;
			return (strcmp(method, "GET") != 0 && resp.outcome_unknown) ? ERP_UNKNOWN : ERP_FAILED;
		case HTTP_UNREACHABLE:
			step_fail(r, FAIL_OFFLINE, "the engine is offline: %s", resp.error);
			return ERP_FAILED;
	}
	pg_unreachable();
}

static char *
resource_path(const char *doctype, const char *name)
{
	if (name == NULL)
		return psprintf("/api/resource/%s", http_escape(doctype));
	return psprintf("/api/resource/%s/%s", http_escape(doctype), http_escape(name));
}

/* Reads one document into *doc. */
static ErpStatus
erp_get(RunContext *ctx, StepResult *r, const char *doctype, const char *name, JsonbContainer **doc)
{
	JsonbContainer *root;
	ErpStatus	st = erp_call(ctx, r, "GET", resource_path(doctype, name), NULL, &root);

	*doc = (st == ERP_OK) ? jb_object(root, "data") : NULL;
	if (st == ERP_OK && *doc == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "GET %s: the answer has no document", resource_path(doctype, name));
		return ERP_FAILED;
	}
	return st;
}

/* The first document matching filters (a JSON list) as {"name": ...}, or NULL in *row. */
static ErpStatus
erp_find(RunContext *ctx, StepResult *r, const char *doctype, const char *filters, JsonbContainer **row)
{
	JsonbContainer *root;
	char	   *path = psprintf("%s?fields=%s&filters=%s&limit_page_length=1",
								resource_path(doctype, NULL), http_escape("[\"name\"]"),
								http_escape(filters));
	ErpStatus	st = erp_call(ctx, r, "GET", path, NULL, &root);

	*row = (st == ERP_OK) ? jb_array_object(jb_array(root, "data"), 0) : NULL;
	return st;
}

static ErpStatus
erp_count(RunContext *ctx, StepResult *r, const char *doctype, const char *filters, long *count)
{
	JsonbContainer *root;
	char	   *path = psprintf("/api/method/frappe.client.get_count?doctype=%s&filters=%s",
								http_escape(doctype), http_escape(filters));
	ErpStatus	st = erp_call(ctx, r, "GET", path, NULL, &root);
	char	   *n = (st == ERP_OK) ? jb_text(root, "message") : NULL;

	if (st == ERP_OK && n == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "get_count of %s: the answer has no count", doctype);
		return ERP_FAILED;
	}
	*count = n ? strtol(n, NULL, 10) : 0;
	return st;
}

static ErpStatus
erp_write(RunContext *ctx, StepResult *r, const char *method, const char *path,
		  const char *body, JsonbContainer **doc)
{
	JsonbContainer *root;
	ErpStatus	st;

	ctx->create_sent = true;
	ctx->write_sent_at = GetCurrentTimestamp();
	st = erp_call(ctx, r, method, path, body, &root);
	/* /api/resource answers {"data": doc}, /api/method {"message": doc} */
	if (doc)
		*doc = (st == ERP_OK) ? (jb_object(root, "data") ? jb_object(root, "data") : jb_object(root, "message")) : NULL;
	return st;
}

/* What erp_create_once looks for before it creates: a document by name, or by filters. */
typedef struct ErpTarget
{
	const char *doctype;
	const char *name;			/* the name we give it (a child row: its parent's), or NULL */
	const char *filters;		/* else: a filters list that finds it */
	const char *parent;			/* a child row: the parent's doctype, and how to find the row */
	const char *parent_field;
	const char *row_key;
	const char *row_value;
} ErpTarget;

/* The target's document (or row), or NULL in *doc when the engine does not hold it. */
static ErpStatus
erp_lookup(RunContext *ctx, StepResult *r, const ErpTarget *t, JsonbContainer **doc)
{
	ErpStatus	st;
	JsonbContainer *parent;
	JsonbContainer *rows;

	*doc = NULL;
	if (t->filters)
		return erp_find(ctx, r, t->doctype, t->filters, doc);
	st = erp_get(ctx, r, t->parent ? t->parent : t->doctype, t->name, t->parent ? &parent : doc);
	if (st == ERP_NOT_FOUND && t->parent == NULL)
		return ERP_OK;
	if (st != ERP_OK || t->parent == NULL)
		return st;
	rows = jb_array(parent, t->parent_field);
	for (int i = 0; i < jb_array_length(rows); i++)
	{
		JsonbContainer *row = jb_array_object(rows, i);
		char	   *value = jb_text(row, t->row_key);

		if (value && strcmp(value, t->row_value) == 0)
		{
			*doc = row;
			break;
		}
	}
	return ERP_OK;
}

static char *
target_text(const ErpTarget *t)
{
	if (t->parent)
		return psprintf("%s of %s %s with %s %s", t->doctype, t->parent, t->name, t->row_key, t->row_value);
	return psprintf("%s %s", t->doctype, t->name ? t->name : t->filters);
}

/*
 * Makes sure the target exists: looks it up, and creates it (POST body to path) only when
 * it is missing. A create whose answer never came may still be applied by the engine:
 * until provisioning.write_settle_ms has passed since it was sent, the target is looked
 * up again instead of created again (create_allowed, run.c); if it has not appeared by
 * then, the step fails transiently and its next attempt creates it. A 409 means it
 * appeared meanwhile. *doc gets the document found or made.
 */
static bool
erp_create_once(RunContext *ctx, StepResult *r, const ErpTarget *t, const char *path,
				const char *body, JsonbContainer **doc, bool *created)
{
	char	   *target = target_text(t);
	bool		unanswered = false;
	bool		conflict = false;

	*created = false;
	for (;;)
	{
		if (erp_lookup(ctx, r, t, doc) != ERP_OK)
			return false;
		if (*doc != NULL)
			return true;
		if (conflict)
		{
			step_fail(r, FAIL_PERMANENT, "POST %s: the engine reported a conflict, yet %s cannot be found",
					  path, target);
			return false;
		}
		if (!create_allowed(ctx, target))
		{
			settle_pause(ctx, target);
			continue;
		}
		if (unanswered)
		{
			step_fail(r, FAIL_TRANSIENT, "the create of %s got no answer and it did not appear within %d ms",
					  target, prov_write_settle_ms);
			return false;
		}
		switch (erp_write(ctx, r, "POST", path, body, doc))
		{
			case ERP_OK:
				*created = true;
				if (*doc == NULL)
				{
					step_fail(r, FAIL_PERMANENT, "POST %s: the answer has no document", path);
					return false;
				}
				return true;
			case ERP_CONFLICT:
				conflict = true;
				break;
			case ERP_UNKNOWN:
				write_unanswered(ctx, target);
				unanswered = true;
				break;
			case ERP_NOT_FOUND:
				step_fail(r, FAIL_PERMANENT, "POST %s: HTTP 404", path);
				return false;
			default:
				return false;
		}
	}
}

/* Makes sure doctype/name exists, created from body when missing. */
static bool
erp_ensure(RunContext *ctx, StepResult *r, const char *doctype, const char *name,
		   const char *body, bool *created, JsonbContainer **doc)
{
	ErpTarget	t = {.doctype = doctype,.name = name};
	JsonbContainer *found;

	return erp_create_once(ctx, r, &t, resource_path(doctype, NULL), body, doc ? doc : &found, created);
}

/*
 * Makes sure a document matching filters exists, created from body when none does, for
 * documents the engine names itself. *name gets the document's name.
 */
static bool
erp_find_or_insert(RunContext *ctx, StepResult *r, const char *doctype, const char *filters,
				   const char *body, char **name, bool *created)
{
	ErpTarget	t = {.doctype = doctype,.filters = filters};
	JsonbContainer *doc;

	if (!erp_create_once(ctx, r, &t, resource_path(doctype, NULL), body, &doc, created))
		return false;
	*name = jb_text(doc, "name");
	if (*name == NULL)
		step_fail(r, FAIL_PERMANENT, "the engine did not name the %s", doctype);
	return *name != NULL;
}

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
company_of(RunContext *ctx)
{
	return config_text(ctx, "company_name");
}

/* The company's abbreviation, read from the engine once and kept in the metadata. */
static const char *
company_abbr(RunContext *ctx, StepResult *r)
{
	JsonbContainer *company;
	char	   *abbr;

	if (meta_get(ctx, "company_abbr"))
		return meta_get(ctx, "company_abbr");
	if (erp_get(ctx, r, "Company", company_of(ctx), &company) != ERP_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
		return NULL;
	}
	abbr = jb_text(company, "abbr");
	if (abbr == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "company %s has no abbreviation", company_of(ctx));
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
pos_user(RunContext *ctx)
{
	const char *user = config_text(ctx, "pos_user");

	return user ? user : meta_get(ctx, "api_user");
}

/* A filters list of [field, "=", value] conditions from field/value pairs. */
static char *
equal_filters(int n, const char *const *pairs)
{
	JsonWriter	w;

	jw_open(&w, '[');
	for (int i = 0; i < n; i++)
	{
		JsonWriter	cond;

		jw_open(&cond, '[');
		jw_str(&cond, NULL, pairs[2 * i]);
		jw_str(&cond, NULL, "=");
		jw_str(&cond, NULL, pairs[2 * i + 1]);
		jw_close(&cond, ']');
		jw_raw(&w, NULL, cond.buf.data);
	}
	jw_close(&w, ']');
	return w.buf.data;
}

/* ---------------------------------------------------------------- steps */

static void
step_engine_check(RunContext *ctx, StepResult *r)
{
	JsonbContainer *root;
	const char *known = meta_get(ctx, "api_user");
	char	   *user;

	if (erp_call(ctx, r, "GET", "/api/method/frappe.auth.get_logged_user", NULL, &root) != ERP_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no frappe.auth.get_logged_user method (HTTP 404); is this ERPNext?");
		return;
	}
	user = jb_text(root, "message");
	if (user == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "the engine did not name the API user");
		return;
	}
	meta_set(ctx, "api_user", user);
	step_done(ctx, r, known == NULL || strcmp(known, user) != 0,
			  "engine online; the API key belongs to %s", user);
}

static void
step_fiscal_year(RunContext *ctx, StepResult *r)
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
	if (!erp_find_or_insert(ctx, r, "Fiscal Year", filters, body.buf.data, &name, &created))
		return;
	meta_set(ctx, "fiscal_year", name);
	step_done(ctx, r, created, "fiscal year %s covers %s", name, today);
}

static void
step_company(RunContext *ctx, StepResult *r)
{
	JsonWriter	body;
	JsonbContainer *doc;
	bool		created;
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

	if (!erp_ensure(ctx, r, "Company", company_of(ctx), body.buf.data, &created, &doc))
		return;
	abbr = jb_text(doc, "abbr");
	meta_set(ctx, "company", jb_text(doc, "name") ? jb_text(doc, "name") : company_of(ctx));
	if (abbr)
		meta_set(ctx, "company_abbr", abbr);
	step_done(ctx, r, created, "company %s (abbreviation %s)", meta_get(ctx, "company"),
			  abbr ? abbr : "?");
}

static void
step_chart_of_accounts(RunContext *ctx, StepResult *r)
{
	const char *company = company_of(ctx);
	const char *pair[] = {"company", company};
	char	   *filters = equal_filters(1, pair);
	const char *chart = config_text(ctx, "chart_of_accounts");
	long		accounts;
	JsonWriter	body;
	JsonbContainer *doc;

	if (erp_count(ctx, r, "Account", filters, &accounts) != ERP_OK)
		return;
	if (accounts > 0)
	{
		/* imported by this run's company step, or there before */
		bool		fresh = strcmp(step_status_of(ctx, "step_2_company"), "completed") == 0;

		meta_set(ctx, "accounts", psprintf("%ld", accounts));
		step_done(ctx, r, fresh, "%ld accounts for %s", accounts, company);
		return;
	}

	/* Saving the company imports its chart while it has no accounts. */
	jw_open(&body, '{');
	jw_str(&body, "create_chart_of_accounts_based_on", "Standard Template");
	jw_str(&body, "chart_of_accounts", chart);
	jw_close(&body, '}');
	if (erp_write(ctx, r, "PUT", resource_path("Company", company), body.buf.data, &doc) != ERP_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company);
		return;
	}
	if (erp_count(ctx, r, "Account", filters, &accounts) != ERP_OK)
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
step_warehouses(RunContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	const char *bases[] = {"Main Store", "POS Store"};
	int			wanted = config_bool(ctx, "pos_store_enabled") ? 2 : 1;
	char	   *parent;
	JsonbContainer *found;
	int			made = 0;

	if (abbr == NULL)
		return;
	parent = warehouse_name("All Warehouses", abbr);
	switch (erp_get(ctx, r, "Warehouse", parent, &found))
	{
		case ERP_OK:
			break;
		case ERP_NOT_FOUND:
			parent = NULL;
			break;
		default:
			return;
	}
	for (int i = 0; i < wanted; i++)
	{
		JsonWriter	body;
		bool		created;
		char	   *name = warehouse_name(bases[i], abbr);

		jw_open(&body, '{');
		jw_str(&body, "warehouse_name", bases[i]);
		jw_str(&body, "company", company_of(ctx));
		if (parent)
			jw_str(&body, "parent_warehouse", parent);
		jw_int(&body, "is_group", 0);
		jw_close(&body, '}');
		if (!erp_ensure(ctx, r, "Warehouse", name, body.buf.data, &created, NULL))
			return;
		made += created;
		meta_set(ctx, i == 0 ? "main_warehouse" : "pos_warehouse", name);
	}
	step_done(ctx, r, made > 0, "%s%s%s", meta_get(ctx, "main_warehouse"),
			  wanted > 1 ? ", " : "", wanted > 1 ? meta_get(ctx, "pos_warehouse") : "");
}

/*
 * Brings a Single doctype to the wanted values (field/value pairs); *changed says
 * whether it had to be written.
 */
static bool
ensure_single(RunContext *ctx, StepResult *r, const char *doctype, int n,
			  const char *const *pairs, bool *changed)
{
	JsonbContainer *doc;
	JsonWriter	body;

	*changed = false;
	if (erp_get(ctx, r, doctype, doctype, &doc) != ERP_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no %s", doctype);
		return false;
	}
	jw_open(&body, '{');
	for (int i = 0; i < n; i++)
	{
		char	   *have = jb_text(doc, pairs[2 * i]);

		if (have == NULL || strcmp(have, pairs[2 * i + 1]) != 0)
			*changed = true;
		jw_str(&body, pairs[2 * i], pairs[2 * i + 1]);
	}
	jw_close(&body, '}');
	if (!*changed)
		return true;
	return erp_write(ctx, r, "PUT", resource_path(doctype, doctype), body.buf.data, NULL) == ERP_OK;
}

static void
step_settings(RunContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	bool		stock_changed,
				selling_changed;
	const char *stock[8];
	const char *selling[] = {
		"customer_group", "Individual",
		"territory", "All Territories",
		"selling_price_list", "Standard Selling",
	};

	if (abbr == NULL)
		return;
	stock[0] = "default_warehouse";
	stock[1] = warehouse_name("Main Store", abbr);
	stock[2] = "valuation_method";
	stock[3] = "FIFO";
	stock[4] = "stock_uom";
	stock[5] = "Nos";
	stock[6] = "allow_negative_stock";
	stock[7] = "1";
	if (!ensure_single(ctx, r, "Stock Settings", 4, stock, &stock_changed) ||
		!ensure_single(ctx, r, "Selling Settings", 3, selling, &selling_changed))
		return;
	step_done(ctx, r, stock_changed || selling_changed,
			  "stock settings %s, selling settings %s",
			  stock_changed ? "updated" : "already set",
			  selling_changed ? "updated" : "already set");
}

static void
step_items(RunContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	int			made = 0;

	if (abbr == NULL)
		return;
	for (int i = 0; i < lengthof(demo_items); i++)
	{
		JsonWriter	body;
		JsonWriter	row;
		bool		created;

		jw_open(&row, '{');
		jw_str(&row, "company", company_of(ctx));
		jw_str(&row, "default_warehouse", warehouse_name("Main Store", abbr));
		jw_close(&row, '}');

		jw_open(&body, '{');
		jw_str(&body, "item_code", demo_items[i].code);
		jw_str(&body, "item_name", demo_items[i].name);
		jw_str(&body, "item_group", "Products");
		jw_str(&body, "stock_uom", "Nos");
		jw_int(&body, "is_stock_item", 1);
		jw_int(&body, "is_sales_item", 1);
		jw_raw(&body, "standard_rate", demo_items[i].rate);
		jw_raw(&body, "item_defaults", psprintf("[%s]", row.buf.data));
		jw_close(&body, '}');
		if (!erp_ensure(ctx, r, "Item", demo_items[i].code, body.buf.data, &created, NULL))
			return;
		made += created;
	}
	meta_set(ctx, "demo_items", psprintf("%d", (int) lengthof(demo_items)));
	step_done(ctx, r, made > 0, "%d demo items (%d new)", (int) lengthof(demo_items), made);
}

static void
step_customer(RunContext *ctx, StepResult *r)
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
	if (!erp_find_or_insert(ctx, r, "Customer", equal_filters(1, pair), body.buf.data, &name, &created))
		return;
	meta_set(ctx, "customer", name);
	step_done(ctx, r, created, "customer %s", name);
}

/* The Cash mode of payment needs an account row for the company before a POS profile. */
static bool
ensure_cash_account(RunContext *ctx, StepResult *r, const char *cash_account)
{
	ErpTarget	t = {.doctype = "Mode of Payment Account",.parent = "Mode of Payment",.name = CASH,
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
	if (erp_create_once(ctx, r, &t, "/api/method/frappe.client.insert", body.buf.data, &row, &created))
		return true;
	if (r->status != STEP_FAILED)
		step_fail(r, FAIL_PERMANENT, "the engine has no mode of payment \"%s\"", CASH);
	return false;
}

static char *
pos_profile_name(RunContext *ctx)
{
	return psprintf("%s POS", company_of(ctx));
}

static void
step_pos_profile(RunContext *ctx, StepResult *r)
{
	const char *abbr = company_abbr(ctx, r);
	char	   *name = pos_profile_name(ctx);
	JsonbContainer *company;
	char	   *write_off,
			   *cost_center,
			   *cash;
	JsonWriter	body,
				payment,
				user;
	bool		created;

	if (abbr == NULL)
		return;
	if (erp_get(ctx, r, "Company", company_of(ctx), &company) != ERP_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "company %s does not exist in the engine", company_of(ctx));
		return;
	}
	write_off = jb_text(company, "write_off_account");
	cost_center = jb_text(company, "cost_center");
	cash = jb_text(company, "default_cash_account");
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
	jw_str(&body, "currency", jb_text(company, "default_currency") ? jb_text(company, "default_currency") : config_text(ctx, "currency"));
	jw_str(&body, "write_off_account", write_off);
	jw_str(&body, "write_off_cost_center", cost_center);
	jw_str(&body, "customer", meta_get(ctx, "customer") ? meta_get(ctx, "customer") : WALK_IN_CUSTOMER);
	jw_str(&body, "selling_price_list", "Standard Selling");
	jw_raw(&body, "payments", psprintf("[%s]", payment.buf.data));
	jw_raw(&body, "applicable_for_users", psprintf("[%s]", user.buf.data));
	jw_close(&body, '}');
	if (!erp_ensure(ctx, r, "POS Profile", name, body.buf.data, &created, NULL))
		return;
	meta_set(ctx, "pos_profile", name);
	step_done(ctx, r, created, "POS profile %s", name);
}

static void
step_pos_session(RunContext *ctx, StepResult *r)
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
	if (!erp_find_or_insert(ctx, r, "POS Opening Entry", equal_filters(3, pairs), body.buf.data, &name, &created))
		return;
	meta_set(ctx, "pos_opening_entry", name);
	step_done(ctx, r, created, "POS opening entry %s is open", name);
}

static char *
erpnext_authorization(const char *api_key, const char *api_secret)
{
	return psprintf("token %s:%s", api_key ? api_key : "", api_secret ? api_secret : "");
}

static const StepImpl erpnext_steps[] = {
	{"step_0_engine_check", step_engine_check},
	{"step_1_fiscal_year", step_fiscal_year},
	{"step_2_company", step_company},
	{"step_3_chart_of_accounts", step_chart_of_accounts},
	{"step_4_warehouses", step_warehouses},
	{"step_5_settings", step_settings},
	{"step_6_items", step_items},
	{"step_7_customer", step_customer},
	{"step_8_pos_profile", step_pos_profile},
	{"step_9_pos_session", step_pos_session},
	{NULL, NULL}
};

const EngineDriver erpnext_driver = {
	.kind = "erpnext",
	.authorization = erpnext_authorization,
	.health_path = "/api/method/frappe.auth.get_logged_user",
	.steps = erpnext_steps,
};
