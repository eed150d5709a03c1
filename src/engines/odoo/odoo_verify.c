/*
 * odoo_verify.c
 *     The checks of a VERIFY run on Odoo: for each provisioning step, what it recorded in the
 *     run's metadata read back from the engine, writing nothing (not even the API user's
 *     access to the company, which the provisioning gives). Found as recorded, a check reports
 *     "exists"; missing, archived or changed, it fails (permanently: reading again changes
 *     nothing) saying what it found, every difference of the step in one message.
 *
 * Records are read by the ids the provisioning recorded, archived ones too (active_test
 * false), so that an archived record is told from a deleted one; a record of another company
 * is hidden by the engine's rules and reads as missing.
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

/* A recorded id, or 0 with the step failed naming what is not recorded */
static long
recorded_id(StepContext *ctx, StepResult *r, const char *key, const char *what)
{
	const char *v = meta_recorded(ctx, r, key, what);
	long		id;

	if (v == NULL)
		return 0;
	if ((id = strtol(v, NULL, 10)) <= 0)
		step_fail(r, FAIL_PERMANENT, "the recorded %s \"%s\" is not an id", key, v);
	return id > 0 ? id : 0;
}

/* Adds one difference to a step's list */
static void
differs(StringInfo found, const char *fmt,...) pg_attribute_printf(2, 3);

static void
differs(StringInfo found, const char *fmt,...)
{
	va_list		args;

	if (found->len > 0)
		appendStringInfoString(found, "; ");
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(found, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(found, needed);
	}
}

/* The step's outcome: found as recorded (what), or failed with its differences */
static void
verdict(StepContext *ctx, StepResult *r, StringInfo found, const char *what)
{
	if (found->len > 0)
		step_fail(r, FAIL_PERMANENT, "%s", found->data);
	else
		step_done(ctx, r, false, "%s, as recorded", what);
}

/*
 * A recorded record's presence: missing, archived (archivable models), or of another
 * company than cid (company_field, or NULL). The record in *rec, NULL when missing.
 */
static bool
check_record(StepContext *ctx, StepResult *r, StringInfo found, const char *model, long id,
			 const char *label, const char *fields, bool archivable, long cid, JsonbContainer **rec)
{
	bool		active;
	long		company;

	if (!odoo_read_any(ctx, r, model, id, fields, rec))
		return false;
	if (*rec == NULL)
	{
		differs(found, "%s (%s %ld) is missing", label, model, id);
		return true;
	}
	if (archivable)
	{
		if (!odoo_active(*rec, &active))
			return odoo_malformed(r, model, "search_read", "active is not a boolean");
		if (!active)
			differs(found, "%s (%s %ld) is archived", label, model, id);
	}
	if (cid != 0)
	{
		if (!odoo_id(*rec, "company_id", &company))
			return odoo_malformed(r, model, "search_read", "company_id is not an id");
		if (company != cid)
			differs(found, "%s (%s %ld) belongs to res.company %ld, not the tenant's %ld", label, model, id,
					company, cid);
	}
	return true;
}

/* step_0_engine_check: the login is still the user the provisioning recorded */
void
odoo_verify_engine(StepContext *ctx, StepResult *r)
{
	long		uid = recorded_id(ctx, r, "api_uid", "the API user");

	if (uid == 0)
		return;
	if (uid != session_of(ctx)->uid)
		step_fail(r, FAIL_PERMANENT, "the login is res.users %ld now, the provisioning's was %ld",
				  session_of(ctx)->uid, uid);
	else
		step_done(ctx, r, false, "engine online (Odoo %d); the login is res.users %ld, as recorded",
				  session_of(ctx)->version, uid);
}

/* step_2_company: the company exists, active, with its name, and the API user has access */
void
odoo_verify_company(StepContext *ctx, StepResult *r)
{
	long		cid = recorded_id(ctx, r, "company_id", "the tenant's company");
	const char *name = meta_recorded(ctx, r, "company", "the company's name");
	JsonbContainer *company;
	StringInfoData found;
	char	   *has_name;
	bool		active;

	if (cid == 0 || name == NULL || !odoo_company_record(ctx, r, cid, "[\"name\",\"active\"]", &company))
		return;
	initStringInfo(&found);
	if (company == NULL)
		differs(&found, "company %s (res.company %ld) is missing", name, cid);
	else
	{
		if (!jb_str(company, "name", &has_name) || !odoo_active(company, &active))
		{
			odoo_malformed(r, "res.company", "search_read", "name or active is malformed");
			return;
		}
		if (!active)
			differs(&found, "company %s (res.company %ld) is archived", name, cid);
		if (strcmp(has_name, name) != 0)
			differs(&found, "res.company %ld is named \"%.200s\", not %s", cid, has_name, name);
		if (active && odoo_recorded_company(ctx, r, false) == 0)
			return;
	}
	verdict(ctx, r, &found, psprintf("company %s (res.company %ld)", name, cid));
}

/* step_3_chart_of_accounts: the company has accounts */
void
odoo_verify_chart(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	long		accounts;

	if (cid == 0 || !odoo_count(ctx, r, "account.account", odoo_accounts_domain(ctx, cid), &accounts))
		return;
	if (accounts == 0)
		step_fail(r, FAIL_PERMANENT, "company %s has no accounts: its chart of accounts is missing", company_of(ctx));
	else
		step_done(ctx, r, false, "%ld accounts for %s", accounts, company_of(ctx));
}

/* step_4_warehouses: the recorded warehouses exist, active, of the company, with their names */
void
odoo_verify_warehouses(StepContext *ctx, StepResult *r)
{
	static const char *const keys[] = {"main_warehouse", "pos_warehouse"};
	long		cid = odoo_recorded_company(ctx, r, false);
	StringInfoData found;
	StringInfoData what;

	if (cid == 0 || recorded_id(ctx, r, "main_warehouse_id", "the main warehouse") == 0)
		return;
	initStringInfo(&found);
	initStringInfo(&what);
	for (int i = 0; i < lengthof(keys); i++)
	{
		const char *name = meta_get(ctx, keys[i]);
		const char *key = psprintf("%s_id", keys[i]);
		JsonbContainer *rec;
		char	   *has_name;
		long		id;

		/* POS Store only when pos_store_enabled: recorded, or not */
		if (meta_get(ctx, key) == NULL)
			continue;
		if ((id = recorded_id(ctx, r, key, keys[i])) == 0 ||
			!check_record(ctx, r, &found, "stock.warehouse", id, psprintf("warehouse %s", name ? name : "?"),
						  "[\"name\",\"active\",\"company_id\"]", true, cid, &rec))
			return;
		if (rec != NULL && name != NULL && jb_str(rec, "name", &has_name) && strcmp(has_name, name) != 0)
			differs(&found, "stock.warehouse %ld is named \"%.200s\", not %s", id, has_name, name);
		appendStringInfo(&what, "%s%s (stock.warehouse %ld)", what.len > 0 ? ", " : "", name ? name : "?", id);
	}
	verdict(ctx, r, &found, what.data);
}

/* step_5_settings: the company's fiscal year ends on 31 December */
void
odoo_verify_settings(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	JsonbContainer *company;
	char	   *day,
			   *month;

	if (cid == 0 || !odoo_read(ctx, r, "res.company", cid, "[\"fiscalyear_last_day\",\"fiscalyear_last_month\"]",
							   &company))
		return;
	day = jb_text(company, "fiscalyear_last_day");
	month = jb_text(company, "fiscalyear_last_month");
	if (day == NULL || month == NULL || strcmp(day, "31") != 0 || strcmp(month, "12") != 0)
		step_fail(r, FAIL_PERMANENT, "the fiscal year of %s ends on day %.20s of month %.20s, not on 31 December",
				  company_of(ctx), day ? day : "?", month ? month : "?");
	else
		step_done(ctx, r, false, "the fiscal year of %s ends on 31 December", company_of(ctx));
}

/* step_6_items: the demo products, active and available in the POS */
void
odoo_verify_items(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	JsonbContainer *rows;
	JsonWriter	names;
	StringInfoData found;

	if (cid == 0 || meta_recorded(ctx, r, "demo_items", "the demo products") == NULL)
		return;
	jw_open(&names, '[');
	for (int i = 0; i < odoo_demo_product_count; i++)
		jw_str(&names, NULL, odoo_demo_products[i].name);
	jw_close(&names, ']');
	if (!odoo_search_all(ctx, r, "product.template",
						 psprintf("[[\"name\",\"in\",%s],[\"company_id\",\"in\",[%ld,false]]]", names.buf.data, cid),
						 "[\"name\",\"active\",\"available_in_pos\"]", 0, 0, &rows))
		return;
	initStringInfo(&found);
	for (int i = 0; i < odoo_demo_product_count; i++)
	{
		const char *name = odoo_demo_products[i].name;
		bool		seen = false,
					active = false,
					in_pos = false;

		/* any active one of the name available in the POS will do: the step adopts shared ones */
		for (int j = 0; j < jb_array_length(rows); j++)
		{
			JsonbContainer *row = jb_array_object(rows, j);
			char	   *has_name;
			bool		a;

			if (!jb_str(row, "name", &has_name) || !odoo_active(row, &a))
			{
				odoo_malformed(r, "product.template", "search_read", "name or active is malformed");
				return;
			}
			if (strcmp(has_name, name) != 0)
				continue;
			seen = true;
			active |= a;
			in_pos |= a && jb_bool(row, "available_in_pos", false);
		}
		if (!seen)
			differs(&found, "demo product %s is missing", name);
		else if (!active)
			differs(&found, "demo product %s is archived", name);
		else if (!in_pos)
			differs(&found, "demo product %s is not available in the POS", name);
	}
	verdict(ctx, r, &found, psprintf("%d demo products available in the POS", odoo_demo_product_count));
}

/* step_7_customer: the recorded walk-in customer exists, active, with its name */
void
odoo_verify_customer(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	long		id = cid ? recorded_id(ctx, r, "customer_id", "the walk-in customer") : 0;
	const char *name = meta_get(ctx, "customer");
	JsonbContainer *rec;
	StringInfoData found;
	char	   *has_name;

	initStringInfo(&found);
	if (id == 0 ||
		!check_record(ctx, r, &found, "res.partner", id, psprintf("customer %s", name ? name : "?"),
					  "[\"name\",\"active\"]", true, 0, &rec))
		return;
	if (rec != NULL && name != NULL && jb_str(rec, "name", &has_name) && strcmp(has_name, name) != 0)
		differs(&found, "res.partner %ld is named \"%.200s\", not %s", id, has_name, name);
	verdict(ctx, r, &found, psprintf("customer %s (res.partner %ld)", name ? name : "?", id));
}

/* step_8_pos_profile: the config exists, active, of the company, on the recorded warehouse and operation type */
void
odoo_verify_pos_config(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	long		config = cid ? recorded_id(ctx, r, "pos_config_id", "the POS config") : 0;
	long		warehouse = config ? recorded_id(ctx, r, "pos_config_warehouse_id", "the POS config's warehouse") : 0;
	const char *type_text = meta_get(ctx, "pos_picking_type_id");
	long		picking_type = type_text ? strtol(type_text, NULL, 10) : 0;
	const char *name = meta_get(ctx, "pos_profile");
	JsonbContainer *rec;
	StringInfoData found;
	long		has_warehouse,
				has_type;

	if (warehouse == 0)
		return;
	initStringInfo(&found);
	if (!check_record(ctx, r, &found, "pos.config", config, psprintf("POS config %s", name ? name : "?"),
					  "[\"active\",\"company_id\",\"warehouse_id\",\"picking_type_id\"]", true, cid, &rec))
		return;
	if (rec != NULL)
	{
		if (!odoo_id(rec, "warehouse_id", &has_warehouse) || !odoo_id(rec, "picking_type_id", &has_type))
		{
			odoo_malformed(r, "pos.config", "search_read", "warehouse_id or picking_type_id is not an id");
			return;
		}
		if (has_warehouse != warehouse)
			differs(&found, "POS config %s (pos.config %ld) is on stock.warehouse %ld, not the recorded %ld",
					name ? name : "?", config, has_warehouse, warehouse);
		else if (picking_type > 0 && has_type != picking_type)
			differs(&found, "POS config %s (pos.config %ld) uses operation type %ld, not the recorded %ld",
					name ? name : "?", config, has_type, picking_type);
	}
	verdict(ctx, r, &found, psprintf("POS config %s (pos.config %ld) on stock.warehouse %ld", name ? name : "?",
									 config, warehouse));
}

/* step_9_pos_session: the recorded session is opened, on the recorded config */
void
odoo_verify_pos_session(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, false);
	long		config = cid ? recorded_id(ctx, r, "pos_config_id", "the POS config") : 0;
	long		session = config ? recorded_id(ctx, r, "pos_session_id", "the POS session") : 0;
	JsonbContainer *rec;
	StringInfoData found;
	char	   *state;
	long		on_config;

	if (session == 0)
		return;
	initStringInfo(&found);
	if (!check_record(ctx, r, &found, "pos.session", session, "the POS session", "[\"state\",\"config_id\"]", false,
					  0, &rec))
		return;
	if (rec != NULL)
	{
		if (!jb_str(rec, "state", &state) || !odoo_id(rec, "config_id", &on_config))
		{
			odoo_malformed(r, "pos.session", "search_read", "state or config_id is malformed");
			return;
		}
		if (strcmp(state, "opened") != 0)
			differs(&found, "the POS session (pos.session %ld) is %.40s, not opened", session, state);
		if (on_config != config)
			differs(&found, "the POS session (pos.session %ld) is of pos.config %ld, not the recorded %ld", session,
					on_config, config);
	}
	verdict(ctx, r, &found, psprintf("the POS session (pos.session %ld) is opened", session));
}
