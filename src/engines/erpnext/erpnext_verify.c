/*
 * erpnext_verify.c
 *     The ERPNext driver's VERIFY steps: each reads back what its provisioning step recorded
 *     in the run's metadata and writes nothing (driver.h, "Lifecycle operations"). Found as
 *     recorded, a step reports exists; a document missing, disabled or changed (a warehouse
 *     of another company, a POS profile on another warehouse, a closed session) fails the
 *     step, its message naming each. A rerun of the provisioning repairs exactly that: its
 *     steps make what is missing and enable or set back what changed.
 *
 * The settings' check is erpnext_master_data.c's (it shares the provisioning's reading of
 * the site-wide Singles).
 */
#include "postgres.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

/* Ends a verify step: exists when nothing differs, else failed with what does */
static void
verify_done(StepContext *ctx, StepResult *r, StringInfo problems, const char *found)
{
	if (problems->len > 0)
		step_fail(r, FAIL_PERMANENT, "%s", problems->data);
	else
		step_done(ctx, r, false, "%s", found);
}

static void
add_problem(StringInfo problems, const char *fmt,...) pg_attribute_printf(2, 3);

static void
add_problem(StringInfo problems, const char *fmt,...)
{
	va_list		args;

	if (problems->len > 0)
		appendStringInfoString(problems, "; ");
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(problems, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(problems, needed);
	}
}

/* A Check of a document or row as read: set or not (Frappe leaves out a null one) */
static bool
flag_set(JsonbContainer *doc, const char *field)
{
	char	   *value = jb_text(doc, field);

	return value != NULL && strcmp(value, "0") != 0;
}

/*
 * Reads the recorded document doctype/name into *doc: NULL, with "<what> <name> is missing"
 * added to problems, when the engine does not hold it, and "... is disabled" when its
 * disabled flag is set. False when the engine could not be asked (the result failed).
 */
static bool
read_recorded(StepContext *ctx, StepResult *r, const char *doctype, const char *name, const char *what,
			  StringInfo problems, JsonbContainer **doc)
{
	FrappeStatus st = frappe_get(ctx, r, doctype, name, doc);

	if (st == FRAPPE_NOT_FOUND)
	{
		add_problem(problems, "%s %s is missing", what, name);
		*doc = NULL;
		return true;
	}
	if (st != FRAPPE_OK)
		return false;
	if (flag_set(*doc, "disabled"))
		add_problem(problems, "%s %s is disabled", what, name);
	return true;
}

/* step_0_engine_check: the engine answers, and the key is still the provisioning's user's */
void
erpnext_verify_engine(StepContext *ctx, StepResult *r)
{
	const char *recorded = meta_recorded(ctx, r, "api_user", "the API user");
	char	   *user;
	StringInfoData problems;

	if (recorded == NULL || (user = erpnext_logged_user(ctx, r)) == NULL)
		return;
	initStringInfo(&problems);
	if (strcmp(user, recorded) != 0)
		add_problem(&problems, "the API key belongs to %s instead of %s, the provisioning's POS user", user, recorded);
	verify_done(ctx, r, &problems, psprintf("engine online; the API key belongs to %s", user));
}

/*
 * A recorded document that must be there, not disabled: the metadata's key names it. The
 * fiscal year and the walk-in customer are read so.
 */
static void
verify_recorded(StepContext *ctx, StepResult *r, const char *key, const char *doctype, const char *what)
{
	const char *name = meta_recorded(ctx, r, key, psprintf("the %s", what));
	JsonbContainer *doc;
	StringInfoData problems;

	initStringInfo(&problems);
	if (name != NULL && read_recorded(ctx, r, doctype, name, what, &problems, &doc))
		verify_done(ctx, r, &problems, psprintf("%s %s", what, name));
}

/* step_1_fiscal_year */
void
erpnext_verify_fiscal_year(StepContext *ctx, StepResult *r)
{
	verify_recorded(ctx, r, "fiscal_year", "Fiscal Year", "fiscal year");
}

/* step_2_company: it exists, with the abbreviation its warehouses are named with */
void
erpnext_verify_company(StepContext *ctx, StepResult *r)
{
	const char *name = meta_recorded(ctx, r, "company", "the company");
	const char *abbr = meta_get(ctx, "company_abbr");
	JsonbContainer *doc;
	StringInfoData problems;
	char	   *have;

	initStringInfo(&problems);
	if (name == NULL || !read_recorded(ctx, r, "Company", name, "company", &problems, &doc))
		return;
	if (doc != NULL && abbr != NULL && (!jb_str(doc, "abbr", &have) || strcmp(have, abbr) != 0))
		add_problem(&problems, "company %s has abbreviation %s instead of %s", name, have ? have : "(none)", abbr);
	verify_done(ctx, r, &problems, psprintf("company %s", name));
}

/* step_3_chart_of_accounts: the company has accounts (the import is re-triggered while none) */
void
erpnext_verify_chart_of_accounts(StepContext *ctx, StepResult *r)
{
	const char *company = meta_recorded(ctx, r, "company", "the company");
	const char *pair[2] = {"company", company};
	StringInfoData problems;
	long		accounts;

	if (company == NULL || frappe_count(ctx, r, "Account", frappe_equal_filters(1, pair), &accounts) != FRAPPE_OK)
		return;
	initStringInfo(&problems);
	if (accounts == 0)
		add_problem(&problems, "company %s has no accounts: its chart of accounts is missing", company);
	verify_done(ctx, r, &problems, psprintf("%ld accounts for %s", accounts, company));
}

/*
 * Named documents read in one request, each found, not disabled and, when company is given,
 * of that company; what is not is added to problems. False when the engine could not be asked.
 */
static bool
check_named(StepContext *ctx, StepResult *r, const char *doctype, const char *what, int n,
			const char *const *names, const char *company, StringInfo problems)
{
	JsonbContainer **rows = palloc(sizeof(JsonbContainer *) * n);

	if (frappe_read_names(ctx, r, doctype, n, names,
						  company ? "[\"name\",\"disabled\",\"company\"]" : "[\"name\",\"disabled\"]",
						  rows) != FRAPPE_OK)
		return false;
	for (int i = 0; i < n; i++)
	{
		char	   *of;

		if (rows[i] == NULL)
			add_problem(problems, "%s %s is missing", what, names[i]);
		else if (flag_set(rows[i], "disabled"))
			add_problem(problems, "%s %s is disabled", what, names[i]);
		else if (company != NULL && (!jb_str(rows[i], "company", &of) || strcmp(of, company) != 0))
			add_problem(problems, "%s %s belongs to company %s instead of %s", what, names[i],
						of ? of : "(none)", company);
	}
	return true;
}

/* step_4_warehouses: Main Store, and POS Store when the provisioning made one */
void
erpnext_verify_warehouses(StepContext *ctx, StepResult *r)
{
	const char *company = meta_recorded(ctx, r, "company", "the company");
	const char *names[2];
	int			n = 0;
	StringInfoData problems;

	if (company == NULL || (names[n++] = meta_recorded(ctx, r, "main_warehouse", "the main warehouse")) == NULL)
		return;
	if (meta_get(ctx, "pos_warehouse") != NULL && meta_get(ctx, "pos_warehouse")[0] != '\0')
		names[n++] = meta_get(ctx, "pos_warehouse");
	initStringInfo(&problems);
	if (check_named(ctx, r, "Warehouse", "warehouse", n, names, company, &problems))
		verify_done(ctx, r, &problems, psprintf("%s%s%s", names[0], n > 1 ? ", " : "", n > 1 ? names[1] : ""));
}

/* step_6_items: the demo items (a provisioning without them skipped the step: so does this) */
void
erpnext_verify_items(StepContext *ctx, StepResult *r)
{
	const char *codes[8];
	int			n = erpnext_demo_item_codes(codes);
	StringInfoData problems;

	Assert(n <= lengthof(codes));
	if (meta_recorded(ctx, r, "demo_items", "the demo items") == NULL)
		return;
	initStringInfo(&problems);
	if (check_named(ctx, r, "Item", "item", n, codes, NULL, &problems))
		verify_done(ctx, r, &problems, psprintf("%d demo items", n));
}

/* step_7_customer */
void
erpnext_verify_customer(StepContext *ctx, StepResult *r)
{
	verify_recorded(ctx, r, "customer", "Customer", "customer");
}

/* step_8_pos_profile: enabled, on the warehouse the provisioning gave it */
void
erpnext_verify_pos_profile(StepContext *ctx, StepResult *r)
{
	const char *name = meta_recorded(ctx, r, "pos_profile", "the POS profile");
	const char *abbr;
	char	   *wanted;
	char	   *have;
	JsonbContainer *doc;
	StringInfoData problems;

	if (name == NULL || (abbr = erpnext_company_abbr(ctx, r)) == NULL)
		return;
	wanted = erpnext_profile_warehouse(ctx, abbr);
	initStringInfo(&problems);
	if (!read_recorded(ctx, r, "POS Profile", name, "POS profile", &problems, &doc))
		return;
	if (doc != NULL && (!jb_str(doc, "warehouse", &have) || strcmp(have, wanted) != 0))
		add_problem(&problems, "POS profile %s has warehouse %s instead of %s", name, have ? have : "(none)", wanted);
	verify_done(ctx, r, &problems, psprintf("POS profile %s on %s", name, wanted));
}

/* step_9_pos_session: the recorded opening entry, submitted and still open */
void
erpnext_verify_pos_session(StepContext *ctx, StepResult *r)
{
	const char *name = meta_recorded(ctx, r, "pos_opening_entry", "the POS opening entry");
	JsonbContainer *doc;
	StringInfoData problems;
	char	   *status;
	long		docstatus;

	initStringInfo(&problems);
	if (name == NULL || !read_recorded(ctx, r, "POS Opening Entry", name, "POS opening entry", &problems, &doc))
		return;
	if (doc != NULL && (!jb_int(doc, "docstatus", &docstatus) || !jb_str(doc, "status", &status)))
	{
		step_malformed(r, "GET POS Opening Entry", "it has no docstatus or status");
		return;
	}
	if (doc != NULL && (docstatus != 1 || strcmp(status, "Open") != 0))
		add_problem(&problems, "POS opening entry %s is %s, not open", name, status);
	verify_done(ctx, r, &problems, psprintf("POS opening entry %s is open", name));
}
