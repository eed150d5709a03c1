/*
 * erpnext_company.c
 *     The ERPNext driver's company and accounting steps: the fiscal year, the Company and
 *     its chart of accounts, and the Company's facts the other steps read (its
 *     abbreviation, its default accounts).
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

/* The Company's fields the POS profile needs, and the metadata keys they are kept under. */
static const char *const company_facts[][2] = {
	{"default_currency", "company_currency"},
	{"default_cash_account", "cash_account"},
	{"write_off_account", "write_off_account"},
	{"cost_center", "cost_center"},
};

/* Today in the server's time zone: "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS". */
void
erpnext_now_texts(char *date, size_t datelen, char *datetime, size_t dtlen, int *year)
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

/* Keeps the Company's company_facts from a Company document the engine answered. */
void
erpnext_remember_company(StepContext *ctx, JsonbContainer *company)
{
	for (int i = 0; i < lengthof(company_facts); i++)
	{
		char	   *fact;

		/* one that is no text is kept empty: the POS profile reads the company then */
		(void) jb_str(company, company_facts[i][0], &fact);
		meta_set(ctx, company_facts[i][1], fact);
	}
}

/* The company's abbreviation, read from the engine once and kept in the metadata. */
const char *
erpnext_company_abbr(StepContext *ctx, StepResult *r)
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

void
erpnext_step_fiscal_year(StepContext *ctx, StepResult *r)
{
	char		today[16],
				now[32];
	int			year;
	char	   *filters;
	char	   *name;
	bool		created;
	JsonWriter	body;

	erpnext_now_texts(today, sizeof(today), now, sizeof(now), &year);
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

void
erpnext_step_company(StepContext *ctx, StepResult *r)
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
	erpnext_remember_company(ctx, doc);
	session_of(ctx)->company_made = created;
	step_done(ctx, r, created, "company %s (abbreviation %s)", meta_get(ctx, "company"),
			  abbr ? abbr : "?");
}

void
erpnext_step_chart_of_accounts(StepContext *ctx, StepResult *r)
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
		erpnext_remember_company(ctx, doc);
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
