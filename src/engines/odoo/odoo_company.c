/*
 * odoo_company.c
 *     The Odoo driver's company and accounting steps: the company (res.company) and the API
 *     user's access to it, the chart of accounts, and the company's fiscal-year settings.
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

/*
 * Gives the API user access to company cid (res.users company_ids), then puts it in the
 * context of every later call. Creating a company links its creator already; a company
 * made by someone else is linked here, unless may_link is false (a VERIFY run writes
 * nothing): then a user without access fails the step.
 */
static bool
company_access(StepContext *ctx, StepResult *r, long cid, bool may_link)
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
	if (!linked && !may_link)
	{
		step_fail(r, FAIL_PERMANENT, "the API user (res.users %ld) has no access to company %s (res.company %ld)",
				  s->uid, company_of(ctx), cid);
		return false;
	}
	if (!linked &&
		!odoo_write(ctx, r, "res.users", s->uid, psprintf("{\"company_ids\":[[4,%ld]]}", cid)))
		return false;
	s->company = cid;
	return true;
}

/* The tenant's company: known to the run, or found by its name (a retried or resumed run). */
long
odoo_company_id(StepContext *ctx, StepResult *r)
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
	if (session_of(ctx)->company != cid && !company_access(ctx, r, cid, true))
		return 0;
	meta_set_id(ctx, "company_id", cid);
	return cid;
}

/*
 * For the lifecycle steps: the company the provisioning recorded, with the API user's
 * access to it (given when may_link), in the context of the calls after it; 0 with the step
 * failed when nothing is recorded or the access is missing.
 */
long
odoo_recorded_company(StepContext *ctx, StepResult *r, bool may_link)
{
	const char *recorded = meta_recorded(ctx, r, "company_id", "the tenant's company");
	long		cid;

	if (recorded == NULL)
		return 0;
	if ((cid = strtol(recorded, NULL, 10)) <= 0)
	{
		step_fail(r, FAIL_PERMANENT, "the recorded company_id \"%s\" is not an id", recorded);
		return 0;
	}
	if (session_of(ctx)->company != cid && !company_access(ctx, r, cid, may_link))
		return 0;
	return cid;
}

/*
 * Company cid as the engine holds it, archived or not (with fields, a JSON list), NULL in
 * *company when it does not. Read without the company in the context: the engine refuses
 * an archived company there ("Access to unauthorized or invalid companies").
 */
bool
odoo_company_record(StepContext *ctx, StepResult *r, long cid, const char *fields, JsonbContainer **company)
{
	OdooSession *s = session_of(ctx);
	long		context = s->company;
	bool		ok;

	s->company = 0;
	ok = odoo_read_any(ctx, r, "res.company", cid, fields, company);
	s->company = context;
	return ok;
}

void
odoo_step_company(StepContext *ctx, StepResult *r)
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
	if (!odoo_create_once(ctx, r, &t, &created) || !company_access(ctx, r, t.id, true))
		return;
	meta_set(ctx, "company", company_of(ctx));
	meta_set_id(ctx, "company_id", t.id);
	step_done(ctx, r, created, "company %s (res.company %ld), the API user has access to it",
			  company_of(ctx), t.id);
}

/* Odoo 18 links accounts to companies through company_ids, earlier versions company_id. */
char *
odoo_accounts_domain(StepContext *ctx, long cid)
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

	if (!odoo_count(ctx, r, "account.account", odoo_accounts_domain(ctx, c->cid), &c->accounts))
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

void
odoo_step_chart_of_accounts(StepContext *ctx, StepResult *r)
{
	ChartLoad	c = {0};
	CreateOnce	once = {.lookup = chart_lookup,.create = chart_load,.arg = &c};
	JsonbContainer *company;
	const char *field = session_of(ctx)->version == 16 ? "chart_template_id" : "chart_template";
	char	   *chart;
	long		template;
	bool		created;

	if ((c.cid = odoo_company_id(ctx, r)) == 0)
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

/*
 * The company's settings: its fiscal year ends on 31 December (Odoo's stand-in for a
 * fiscal-year document). Written only when they differ; a company this run made has them.
 */
void
odoo_step_settings(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
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
