/*
 * odoo_pos.c
 *     The Odoo driver's point-of-sale steps: the POS profile (pos.config, with its Cash
 *     payment method) and an opened POS session (pos.session).
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

static char *
pos_config_name(StepContext *ctx)
{
	return psprintf("%s POS", company_of(ctx));
}

/* The warehouse the POS sells from, and its POS operation type. */
static bool
pos_warehouse(StepContext *ctx, StepResult *r, long cid, long *warehouse, long *picking_type)
{
	const char *name = config_bool(ctx, "pos_store_enabled") ? "POS Store" : "Main Store";
	JsonbContainer *rows;
	JsonbContainer *rec;

	if (!odoo_search_read(ctx, r, "stock.warehouse",
						  psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(name)),
						  "[\"pos_type_id\"]", &rows))
		return false;
	if ((rec = jb_array_object(rows, 0)) == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "warehouse %s of %s does not exist in the engine", name, company_of(ctx));
		return false;
	}
	if (!odoo_id(rec, "id", warehouse) || !odoo_id(rec, "pos_type_id", picking_type))
		return odoo_malformed(r, "stock.warehouse", "search_read", "pos_type_id is not an id");
	return true;
}

/*
 * The Cash payment method on the company's cash journal (the chart made it). Odoo 17+
 * lets a cash method serve one POS config only, so it is this profile's.
 */
static bool
cash_method(StepContext *ctx, StepResult *r, long cid, long *method)
{
	OdooTarget	t = {.model = "pos.payment.method"};
	JsonWriter	values;
	long		journal;
	bool		created;

	if (!odoo_search(ctx, r, "account.journal",
					 psprintf("[[\"company_id\",\"=\",%ld],[\"type\",\"=\",\"cash\"]]", cid), &journal))
		return false;
	if (journal == 0)
	{
		step_fail(r, FAIL_PERMANENT, "company %s has no cash journal; its chart of accounts is incomplete",
				  company_of(ctx));
		return false;
	}
	jw_open(&values, '{');
	jw_str(&values, "name", "Cash");
	jw_int(&values, "journal_id", journal);
	jw_int(&values, "company_id", cid);
	jw_close(&values, '}');
	t.domain = psprintf("[[\"company_id\",\"=\",%ld],[\"journal_id\",\"=\",%ld]]", cid, journal);
	t.values = values.buf.data;
	if (!odoo_create_once(ctx, r, &t, &created))
		return false;
	*method = t.id;
	return true;
}

/*
 * Our config as the provisioning left it (the repair after a VERIFY run): unarchived, on our
 * warehouse and its POS operation type. Written only when it differs; the same values
 * written again after a lost answer change nothing. What was set back, for the message ("",
 * nothing); NULL when the step failed.
 */
static const char *
pos_config_repair(StepContext *ctx, StepResult *r, JsonbContainer *config, long id, long warehouse,
				  long picking_type)
{
	long		has_warehouse,
				has_type;
	bool		active;
	JsonWriter	values;

	if (!odoo_active(config, &active) || !odoo_id(config, "warehouse_id", &has_warehouse) ||
		!odoo_id(config, "picking_type_id", &has_type))
	{
		odoo_malformed(r, "pos.config", "search_read", "active, warehouse_id or picking_type_id is malformed");
		return NULL;
	}
	if (active && has_warehouse == warehouse && (picking_type == 0 || has_type == picking_type))
		return "";
	jw_open(&values, '{');
	jw_raw(&values, "active", "true");
	jw_int(&values, "warehouse_id", warehouse);
	if (picking_type != 0)
		jw_int(&values, "picking_type_id", picking_type);
	jw_close(&values, '}');
	if (!odoo_write(ctx, r, "pos.config", id, values.buf.data))
		return NULL;
	if (has_warehouse != warehouse || (picking_type != 0 && has_type != picking_type))
		return psprintf(", %sset back on stock.warehouse %ld (it was on %ld)", active ? "" : "unarchived and ",
						warehouse, has_warehouse);
	return ", unarchived";
}

/*
 * The POS profile: pos.config with a Cash method. Loading a chart in Odoo 17 makes a
 * config ("Shop") for a company with a warehouse, with Cash/Bank methods: an active config
 * the company holds already is adopted, renamed and moved to our warehouse, so the company
 * ends with one config. Ours found archived or on another warehouse (what a VERIFY run
 * reports) is set back: a second config of its name would leave two.
 */
void
odoo_step_pos_profile(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_company_id(ctx, r);
	char	   *name = pos_config_name(ctx);
	OdooTarget	t = {.model = "pos.config"};
	JsonbContainer *shops;
	JsonbContainer *ours = NULL;
	JsonbContainer *shop = NULL;
	JsonWriter	values;
	long		warehouse,
				picking_type,
				method = 0;
	bool		created = false;
	bool		adopted = false;
	char	   *shop_name = NULL;
	const char *repaired = "";

	if (cid == 0 || !pos_warehouse(ctx, r, cid, &warehouse, &picking_type))
		return;
	t.domain = psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(name));
	/* the company's configs, archived ones too: ours, or an active one to adopt */
	if (!odoo_search_all(ctx, r, "pos.config", psprintf("[[\"company_id\",\"=\",%ld]]", cid),
						 "[\"name\",\"payment_method_ids\",\"active\",\"warehouse_id\",\"picking_type_id\"]",
						 0, 0, &shops))
		return;
	for (int i = 0; i < jb_array_length(shops); i++)
	{
		JsonbContainer *config = jb_array_object(shops, i);

		if (!jb_str(config, "name", &shop_name) || jb_array(config, "payment_method_ids") == NULL)
		{
			odoo_malformed(r, "pos.config", "search_read", "a config's name or payment_method_ids is malformed");
			return;
		}
		if (ours == NULL && strcmp(shop_name, name) == 0)
			ours = config;
		else if (shop == NULL && jb_bool(config, "active", false))
			shop = config;
	}
	if (ours != NULL)
	{
		/* a record of the list has its id (odoo_search_all) */
		(void) jb_int(ours, "id", &t.id);
		if ((repaired = pos_config_repair(ctx, r, ours, t.id, warehouse, picking_type)) == NULL)
			return;
	}
	else
	{
		jw_open(&values, '{');
		jw_str(&values, "name", name);
		jw_int(&values, "company_id", cid);
		jw_int(&values, "warehouse_id", warehouse);
		if (picking_type != 0)
			jw_int(&values, "picking_type_id", picking_type);
		if (shop == NULL || jb_array_length(jb_array(shop, "payment_method_ids")) == 0)
		{
			if (!cash_method(ctx, r, cid, &method))
				return;
			jw_raw(&values, "payment_method_ids", psprintf("[[6,0,[%ld]]]", method));
		}
		jw_close(&values, '}');
		t.values = values.buf.data;
		if (shop != NULL)
		{
			/* a rename: sent again after a lost answer it changes nothing */
			(void) jb_int(shop, "id", &t.id);
			(void) jb_str(shop, "name", &shop_name);
			if (!odoo_write(ctx, r, "pos.config", t.id, t.values))
				return;
			adopted = true;
		}
		else if (!odoo_create_once(ctx, r, &t, &created))
			return;
	}
	meta_set(ctx, "pos_profile", name);
	meta_set_id(ctx, "pos_config_id", t.id);
	/* what a VERIFY run finds the config on */
	meta_set_id(ctx, "pos_config_warehouse_id", warehouse);
	meta_set_id(ctx, "pos_picking_type_id", picking_type);
	session_of(ctx)->pos_config = t.id;
	step_done(ctx, r, created || adopted || repaired[0] != '\0', "POS config %s (pos.config %ld)%s%s", name, t.id,
			  adopted ? psprintf(", adopted from \"%s\", made with the chart", shop_name) : "", repaired);
}

/*
 * An opened session: 17+ open_ui, 16 open_session_cb make it after the engine's own checks.
 * With cash control it waits in opening_control for the opening cash count.
 */
void
odoo_step_pos_session(StepContext *ctx, StepResult *r)
{
	OdooSession *s = session_of(ctx);
	long		cid = odoo_company_id(ctx, r);
	long		config;
	OdooTarget	t = {.model = "pos.session",.method_model = "pos.config",.fields = "[\"name\",\"state\"]"};
	JsonbContainer *answer;
	char	   *state;
	char	   *session_name;
	bool		created;

	if (cid == 0)
		return;
	/* the config this execution's POS profile step found or made; else found by name */
	if ((config = s->pos_config) == 0 &&
		!odoo_search(ctx, r, "pos.config",
					 psprintf("[[\"company_id\",\"=\",%ld],[\"name\",\"=\",%s]]", cid, odoo_quote(pos_config_name(ctx))),
					 &config))
		return;
	if (config == 0)
	{
		step_fail(r, FAIL_PERMANENT, "POS config %s does not exist in the engine", pos_config_name(ctx));
		return;
	}
	t.domain = psprintf("[[\"config_id\",\"=\",%ld],[\"state\",\"!=\",\"closed\"]]", config);
	t.method = s->version >= 17 ? "open_ui" : "open_session_cb";
	t.method_args = psprintf("[[%ld]]", config);
	/* the lookup reads the session's name and state (a method's answer says nothing of it) */
	if (!odoo_create_once(ctx, r, &t, &created))
		return;
	if (!jb_str(t.record, "state", &state))
	{
		odoo_malformed(r, "pos.session", "search_read", "the session's state is not text");
		return;
	}
	if (!jb_str(t.record, "name", &session_name))
		session_name = "?";
	if (strcmp(state, "opening_control") == 0)
	{
		/* the opening cash count; sent again it finds the session opened */
		if (odoo_execute(ctx, r, true, "pos.session", "set_cashbox_pos",
						 psprintf("[[%ld],0.0,\"opened by provisioning\"]", t.id), NULL, &answer) != ODOO_OK)
			return;
		/* it returns None, which Odoo answers with no result: one does not say it was applied */
		if (jb_has(answer, "result"))
		{
			odoo_malformed(r, "pos.session", "set_cashbox_pos", "a result, where the method returns none");
			return;
		}
		created = true;
	}
	else if (strcmp(state, "opened") != 0)
	{
		step_fail(r, FAIL_PERMANENT, "POS session %ld is %s, not opened", t.id, state);
		return;
	}
	meta_set_id(ctx, "pos_session_id", t.id);
	step_done(ctx, r, created, "POS session %s (pos.session %ld) is opened", session_name, t.id);
}
