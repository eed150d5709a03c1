/*
 * erpnext_master_data.c
 *     The ERPNext driver's master data steps: the warehouses, the site-wide stock and
 *     selling settings, the demo items and the walk-in customer.
 */
#include "postgres.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

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

/* The demo items' codes, as step_6_items makes them: how many there are */
int
erpnext_demo_item_codes(const char **codes)
{
	for (int i = 0; i < lengthof(demo_items); i++)
		codes[i] = demo_items[i].code;
	return lengthof(demo_items);
}

/*
 * Main Store (and POS Store): the missing ones made, and a disabled one enabled again (the
 * point of sale cannot sell from it): a rerun after a verify found one gone or disabled
 * repairs that and reports exists for the rest.
 */
void
erpnext_step_warehouses(StepContext *ctx, StepResult *r)
{
	const char *abbr = erpnext_company_abbr(ctx, r);
	const char *bases[] = {"Main Store", "POS Store"};
	const char *keys[] = {"main_warehouse", "pos_warehouse"};
	int			wanted = config_bool(ctx, "pos_store_enabled") ? 2 : 1;
	const char *names[3];
	const char *docs[2];
	JsonbContainer *rows[3] = {NULL, NULL, NULL};
	bool		found[3] = {true, false, false};
	FrappeBatch b = {.doctype = "Warehouse",.n = wanted,.names = names + 1,.docs = docs,.found = found + 1,
	.known = true};
	FrappeField enabled = {"disabled", "0", true};
	StringInfoData changed;

	if (abbr == NULL)
		return;
	names[0] = warehouse_name("All Warehouses", abbr);
	for (int i = 0; i < wanted; i++)
		names[i + 1] = warehouse_name(bases[i], abbr);
	/* the parent and the stores in one read, unless the company is this run's own */
	if (!erpnext_known_absent(ctx))
	{
		if (frappe_read_names(ctx, r, "Warehouse", wanted + 1, names, "[\"name\",\"disabled\"]", rows) != FRAPPE_OK)
			return;
		for (int i = 0; i <= wanted; i++)
			found[i] = rows[i] != NULL;
	}
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
	initStringInfo(&changed);
	for (int i = 1; i <= wanted; i++)
		if (rows[i] != NULL && !frappe_set_fields(ctx, r, "Warehouse", names[i], rows[i], 1, &enabled, &changed))
			return;
	for (int i = 0; i < wanted; i++)
		meta_set(ctx, keys[i], names[i + 1]);
	step_done(ctx, r, b.made > 0 || changed.len > 0, "%s%s%s%s%s", meta_get(ctx, "main_warehouse"),
			  wanted > 1 ? ", " : "", wanted > 1 ? meta_get(ctx, "pos_warehouse") : "",
			  changed.len ? "; " : "", changed.data);
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
 * and the step's next attempt reads again. *written: a write was needed (with check_only,
 * which writes nothing: would be, and msg says which fields are empty).
 */
static bool
fill_single(StepContext *ctx, StepResult *r, const char *doctype, int n, const SingleField *fields,
			bool check_only, StringInfo msg, bool *written)
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
		appendStringInfo(&filled, check_only ? "%s%s is empty (the provisioning sets \"%s\")" : "%s%s set to \"%s\"",
						 filled.len ? ", " : "", f->field, f->value);
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
	if (!*written || check_only)
		return true;
	return frappe_write(ctx, r, "PUT", frappe_resource_path(doctype, doctype), body.buf.data, NULL) == FRAPPE_OK;
}

/* The settings the provisioning fills (or, check_only, would fill: a verify) */
static void
settings(StepContext *ctx, StepResult *r, bool check_only)
{
	const char *abbr = erpnext_company_abbr(ctx, r);
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
	if (!fill_single(ctx, r, "Stock Settings", lengthof(stock), stock, check_only, &msg, &stock_written) ||
		!fill_single(ctx, r, "Selling Settings", lengthof(selling), selling, check_only, &msg, &selling_written))
		return;
	if (check_only && (stock_written || selling_written))
		step_fail(r, FAIL_PERMANENT, "%s", msg.data);
	else
		step_done(ctx, r, stock_written || selling_written, "%s", msg.data);
}

void
erpnext_step_settings(StepContext *ctx, StepResult *r)
{
	settings(ctx, r, false);
}

/*
 * The verify of step_5_settings: the site-wide fields the provisioning fills are set. Another
 * tenant or the site may have set them otherwise (the provisioning leaves that as it is), so
 * only an emptied field is a difference: the one a rerun fills again.
 */
void
erpnext_verify_settings(StepContext *ctx, StepResult *r)
{
	settings(ctx, r, true);
}

void
erpnext_step_items(StepContext *ctx, StepResult *r)
{
	const char *abbr = erpnext_company_abbr(ctx, r);
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

/*
 * The walk-in customer: found by its customer_name (a duplicate POST would make "Walk-In
 * Customer - 1"), made when missing, and enabled again when disabled: the POS profile sells
 * to it.
 */
void
erpnext_step_customer(StepContext *ctx, StepResult *r)
{
	const char *pair[] = {"customer_name", WALK_IN_CUSTOMER};
	FrappeTarget t = {.doctype = "Customer",.filters = frappe_equal_filters(1, pair),
	.fields = "[\"name\",\"disabled\"]"};
	FrappeField enabled = {"disabled", "0", true};
	JsonbContainer *doc;
	StringInfoData changed;
	char	   *name;
	bool		created;
	JsonWriter	body;

	jw_open(&body, '{');
	jw_str(&body, "customer_name", WALK_IN_CUSTOMER);
	jw_str(&body, "customer_type", "Individual");
	jw_str(&body, "customer_group", "Individual");
	jw_str(&body, "territory", "All Territories");
	jw_close(&body, '}');
	if (!frappe_create_once(ctx, r, &t, frappe_resource_path("Customer", NULL), body.buf.data, &doc, &created))
		return;
	/* found or made, it is a document with its name (frappe_find, frappe_write) */
	(void) jb_str(doc, "name", &name);
	initStringInfo(&changed);
	if (!created && !frappe_set_fields(ctx, r, "Customer", name, doc, 1, &enabled, &changed))
		return;
	meta_set(ctx, "customer", name);
	step_done(ctx, r, created || changed.len > 0, "customer %s%s", name, changed.len ? " enabled again" : "");
}
