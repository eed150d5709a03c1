/*
 * odoo_master_data.c
 *     The Odoo driver's master data steps: the warehouses (stock.warehouse), the demo
 *     products (product.template) and the walk-in customer (res.partner).
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

#define WALK_IN_CUSTOMER "Walk-In Customer"

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

void
odoo_step_warehouses(StepContext *ctx, StepResult *r)
{
	static const char *const names[] = {"Main Store", "POS Store"};
	static const char *const codes[] = {"MAIN", "POS"};
	const char *const keys[] = {"main_warehouse_id", "pos_warehouse_id"};
	int			wanted = config_bool(ctx, "pos_store_enabled") ? 2 : 1;
	long		cid = odoo_company_id(ctx, r);
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

void
odoo_step_items(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
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
void
odoo_step_customer(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
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
