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

const OdooDemoProduct odoo_demo_products[] = {
	{"Demo Coffee", "3.5"},
	{"Demo Tea", "2.75"},
	{"Demo Croissant", "2.25"},
};
const int	odoo_demo_product_count = lengthof(odoo_demo_products);

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
	JsonWriter	archived;
	int			unarchived = 0;

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
	/*
	 * The company's warehouses, archived ones too (their codes are taken all the same): the
	 * codes in use, and ours among them. Ours found archived (what a VERIFY run reports) are
	 * unarchived: another of the same name cannot be made.
	 */
	b.domain = psprintf("[[\"company_id\",\"=\",%ld]]", cid);
	if (!odoo_search_all(ctx, r, "stock.warehouse", b.domain, "[\"name\",\"code\",\"active\"]", 0, 0, &existing))
		return;
	jw_open(&archived, '[');
	for (int i = 0; i < jb_array_length(existing); i++)
	{
		JsonbContainer *wh = jb_array_object(existing, i);
		char	   *name;
		char	   *code;
		bool		active;

		if (!jb_str(wh, "name", &name) || !jb_str(wh, "code", &code) || !odoo_active(wh, &active))
		{
			odoo_malformed(r, "stock.warehouse", "search_read", "a warehouse's name, code or active is malformed");
			return;
		}
		used = lappend(used, code);
		/* a record of the list has its id (odoo_search_all) */
		for (int k = 0; k < wanted; k++)
			if (ids[k] == 0 && strcmp(name, names[k]) == 0)
			{
				(void) jb_int(wh, "id", &ids[k]);
				if (!active)
				{
					jw_int(&archived, NULL, ids[k]);
					unarchived++;
				}
			}
	}
	jw_close(&archived, ']');
	if (unarchived > 0 && !odoo_set_active(ctx, r, "stock.warehouse", archived.buf.data, true))
		return;

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
	step_done(ctx, r, b.made > 0 || unarchived > 0, "%s (stock.warehouse %ld)%s%s", names[0], ids[0],
			  wanted > 1 ? psprintf(", %s (stock.warehouse %ld)", names[1], ids[1]) : "",
			  unarchived > 0 ? psprintf(", %d unarchived", unarchived) : "");
}

void
odoo_step_items(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
	const char *names[lengthof(odoo_demo_products)];
	const char *values[lengthof(odoo_demo_products)];
	long		ids[lengthof(odoo_demo_products)];
	OdooBatch	b = {.model = "product.template",.n = lengthof(odoo_demo_products),.names = names,.values = values,
	.ids = ids};

	if (cid == 0)
		return;
	for (int i = 0; i < lengthof(odoo_demo_products); i++)
	{
		JsonWriter	w;

		jw_open(&w, '{');
		jw_str(&w, "name", odoo_demo_products[i].name);
		jw_raw(&w, "list_price", odoo_demo_products[i].price);
		jw_raw(&w, "sale_ok", "true");
		jw_raw(&w, "available_in_pos", "true");
		jw_str(&w, "type", "consu");	/* valid in every version */
		jw_int(&w, "company_id", cid);
		jw_close(&w, '}');
		names[i] = odoo_demo_products[i].name;
		values[i] = w.buf.data;
	}
	/* the company's own products, or shared ones */
	b.domain = psprintf("[[\"company_id\",\"in\",[%ld,false]]]", cid);
	if (!odoo_ensure_many(ctx, r, &b))
		return;
	meta_set(ctx, "demo_items", psprintf("%d", (int) lengthof(odoo_demo_products)));
	step_done(ctx, r, b.made > 0, "%d demo products available in the POS (%d new)",
			  (int) lengthof(odoo_demo_products), b.made);
}

/*
 * Odoo creates a partner twice without complaint: only odoo_create_once keeps it single.
 * The lookup finds an archived one too (naming active in the domain lifts Odoo's active
 * filter), which is unarchived: the repair after a VERIFY run makes no second one.
 */
void
odoo_step_customer(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
	OdooTarget	t = {.model = "res.partner",.fields = "[\"active\"]"};
	JsonWriter	values;
	bool		created;
	bool		active = true;

	if (cid == 0)
		return;
	jw_open(&values, '{');
	jw_str(&values, "name", WALK_IN_CUSTOMER);
	jw_int(&values, "customer_rank", 1);
	jw_int(&values, "company_id", cid);
	jw_close(&values, '}');
	t.domain = psprintf("[[\"name\",\"=\",%s],[\"company_id\",\"in\",[%ld,false]],[\"active\",\"in\",[true,false]]]",
						odoo_quote(WALK_IN_CUSTOMER), cid);
	t.values = values.buf.data;
	if (!odoo_create_once(ctx, r, &t, &created))
		return;
	/* a record made by this step's create was not read (t.record NULL): it is active */
	if (t.record != NULL && !odoo_active(t.record, &active))
	{
		odoo_malformed(r, "res.partner", "search_read", "active is not a boolean");
		return;
	}
	if (!active && !odoo_set_active(ctx, r, "res.partner", psprintf("[%ld]", t.id), true))
		return;
	meta_set(ctx, "customer", WALK_IN_CUSTOMER);
	meta_set_id(ctx, "customer_id", t.id);
	step_done(ctx, r, created || !active, "customer %s (res.partner %ld)%s", WALK_IN_CUSTOMER, t.id,
			  active ? "" : ", unarchived");
}
