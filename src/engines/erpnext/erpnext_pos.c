/*
 * erpnext_pos.c
 *     The ERPNext driver's point-of-sale steps: the POS profile (with the Cash mode of
 *     payment's account for the company) and an open POS opening entry.
 */
#include "postgres.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

#define CASH "Cash"

/* A metadata value, or NULL when the metadata lacks it or holds it empty. */
static const char *
meta_text(StepContext *ctx, const char *key)
{
	const char *v = meta_get(ctx, key);

	return (v && v[0]) ? v : NULL;
}

static const char *
pos_user(StepContext *ctx)
{
	const char *user = config_text(ctx, "pos_user");

	return user ? user : meta_get(ctx, "api_user");
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

/* The warehouse the POS profile sells from: POS Store when the tenant has one, else Main Store */
char *
erpnext_profile_warehouse(StepContext *ctx, const char *abbr)
{
	return warehouse_name(config_bool(ctx, "pos_store_enabled") ? "POS Store" : "Main Store", abbr);
}

/*
 * The POS profile: made when missing; found, it is enabled again and set back to its
 * warehouse when a verify would find it disabled or on another one (the rerun that repairs
 * a tenant). The rest of a found profile is left as the site has it.
 */
void
erpnext_step_pos_profile(StepContext *ctx, StepResult *r)
{
	const char *abbr = erpnext_company_abbr(ctx, r);
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
	FrappeField as_made[2] = {{"disabled", "0", true}, {"warehouse", NULL, false}};
	StringInfoData changed;

	if (abbr == NULL)
		return;
	as_made[1].value = erpnext_profile_warehouse(ctx, abbr);
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
		erpnext_remember_company(ctx, company);
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
	jw_str(&body, "warehouse", as_made[1].value);
	jw_str(&body, "currency", meta_text(ctx, "company_currency") ? meta_text(ctx, "company_currency") : config_text(ctx, "currency"));
	jw_str(&body, "write_off_account", write_off);
	jw_str(&body, "write_off_cost_center", cost_center);
	jw_str(&body, "customer", meta_get(ctx, "customer") ? meta_get(ctx, "customer") : WALK_IN_CUSTOMER);
	jw_str(&body, "selling_price_list", "Standard Selling");
	jw_raw(&body, "payments", psprintf("[%s]", payment.buf.data));
	jw_raw(&body, "applicable_for_users", psprintf("[%s]", user.buf.data));
	jw_close(&body, '}');
	t.known_absent = erpnext_known_absent(ctx);
	if (!frappe_create_once(ctx, r, &t, frappe_resource_path("POS Profile", NULL), body.buf.data, &doc, &created))
		return;
	initStringInfo(&changed);
	if (!created && !frappe_set_fields(ctx, r, "POS Profile", name, doc, lengthof(as_made), as_made, &changed))
		return;
	session_of(ctx)->profile_made = created;
	meta_set(ctx, "pos_profile", name);
	step_done(ctx, r, created || changed.len > 0, "POS profile %s%s%s", name, changed.len ? ": " : "", changed.data);
}

void
erpnext_step_pos_session(StepContext *ctx, StepResult *r)
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

	erpnext_now_texts(today, sizeof(today), now, sizeof(now), &year);
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
							   session_of(ctx)->profile_made && erpnext_known_absent(ctx), body.buf.data, &name, &created))
		return;
	meta_set(ctx, "pos_opening_entry", name);
	step_done(ctx, r, created, "POS opening entry %s is open", name);
}
