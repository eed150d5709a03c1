/*
 * odoo_lifecycle.c
 *     The Odoo driver's suspending, resuming and archiving steps (reference/lifecycle-api.md,
 *     B1-B2). Suspending (and the start of an offboarding) closes the tenant's open
 *     pos.session and archives its pos.config; resuming unarchives what a suspend or an
 *     offboarding archived and opens a new session (odoo_pos.c's session step); the end of an
 *     offboarding archives the company's POS configs, its warehouses and the company.
 *
 * They act on what the provisioning recorded (company_id, the warehouses, pos_config_id) and
 * read before they write: a session read closed is never closed again, a record read
 * archived is not archived again, so a crash or a lost answer leads to no second closing.
 * A tenant provisioned without a point of sale has no config: its POS steps are skipped.
 */
#include "postgres.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

/* One config has one open session (rescue ones aside): more than this is not ours to close */
#define MAX_OPEN_SESSIONS 8

/* The recorded pos.config, or 0: the step skipped (the tenant has none) or failed. */
long
odoo_recorded_config(StepContext *ctx, StepResult *r)
{
	const char *recorded = meta_get(ctx, "pos_config_id");
	long		config;

	if (recorded == NULL || recorded[0] == '\0')
	{
		step_skip(r, "the tenant has no POS config: it was provisioned without the point of sale");
		return 0;
	}
	if ((config = strtol(recorded, NULL, 10)) <= 0)
		step_fail(r, FAIL_PERMANENT, "the recorded pos_config_id \"%s\" is not an id", recorded);
	return config > 0 ? config : 0;
}

/* A recorded id of the metadata, 0 when none is recorded */
static long
recorded_id(StepContext *ctx, const char *key)
{
	const char *v = meta_get(ctx, key);
	long		id = v ? strtol(v, NULL, 10) : 0;

	return id > 0 ? id : 0;
}

/*
 * The n records of model with ids set active (or archived) where they are not so already, in
 * one write; *changed counts them. One the engine does not hold fails the step, naming what.
 */
static bool
ensure_active(StepContext *ctx, StepResult *r, const char *model, const char *what, const long *ids,
			  int n, bool active, int *changed)
{
	JsonWriter	list;
	JsonWriter	todo;

	*changed = 0;
	jw_open(&list, '[');
	for (int i = 0; i < n; i++)
		jw_int(&list, NULL, ids[i]);
	jw_close(&list, ']');
	jw_open(&todo, '[');
	for (int i = 0; i < n; i++)
	{
		JsonbContainer *rec;
		bool		is_active;

		if (!odoo_read_any(ctx, r, model, ids[i], "[\"active\"]", &rec))
			return false;
		if (rec == NULL)
		{
			step_fail(r, FAIL_PERMANENT, "%s (%s %ld) does not exist in the engine", what, model, ids[i]);
			return false;
		}
		if (!odoo_active(rec, &is_active))
			return odoo_malformed(r, model, "search_read", "active is not a boolean");
		if (is_active != active)
		{
			jw_int(&todo, NULL, ids[i]);
			(*changed)++;
		}
	}
	jw_close(&todo, ']');
	return *changed == 0 || odoo_set_active(ctx, r, model, todo.buf.data, active);
}

/* The session's state, read back */
static bool
session_state(StepContext *ctx, StepResult *r, long id, char **state)
{
	JsonbContainer *rec;

	if (!odoo_read(ctx, r, "pos.session", id, "[\"state\"]", &rec))
		return false;
	if (!jb_str(rec, "state", state))
		return odoo_malformed(r, "pos.session", "read", "state is not text");
	return true;
}

/* A session's closing, as create_once makes sure of it: "made" once the session is closed */
typedef struct Closing
{
	long		id;
	bool		cash_control;
	char	   *state;			/* as the lookup read it */
	char	   *counted;		/* cash_register_balance_end, a JSON number */
	bool		sent;			/* this attempt sent the closing */
} Closing;

static bool
closing_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
{
	Closing    *c = (Closing *) arg;
	JsonbContainer *rec;
	char	   *text;

	if (!odoo_read(ctx, r, "pos.session", c->id, "[\"state\",\"cash_register_balance_end\"]", &rec))
		return false;
	if (!jb_str(rec, "state", &c->state))
		return odoo_malformed(r, "pos.session", "read", "state is not text");
	/* a JSON number, sent back as it came: nothing else goes into the request */
	c->counted = jb_str(rec, "cash_register_balance_end", &text) ? NULL : jb_text(rec, "cash_register_balance_end");
	if (c->counted == NULL || strlen(c->counted) > 40 || strspn(c->counted, "-.0123456789eE") != strlen(c->counted))
		return odoo_malformed(r, "pos.session", "read", "cash_register_balance_end is not a number");
	*found = strcmp(c->state, "closed") == 0;
	return true;
}

/*
 * A closing method sent, and what it answered: {"successful": true}, else a dict saying why not (draft
 * orders; an imbalance, "Force Close Session"; the session closed already, which 16 and
 * 17/18 word and shape differently). Not successful, the state is read back: closed meanwhile
 * by someone else is a conflict (create_once then finds it), anything else a failure.
 */
static CreateAnswer
closing_call(StepContext *ctx, StepResult *r, const char *method, long id, const char *args, bool result_none)
{
	JsonbContainer *answer;
	JsonbContainer *result;
	char	   *state;
	char	   *message;
	OdooStatus	st = odoo_execute(ctx, r, true, "pos.session", method, args, NULL, &answer);

	if (st == ODOO_UNKNOWN)
		return CREATE_UNKNOWN;
	if (st != ODOO_OK)
		return CREATE_FAILED;
	if (result_none)
	{
		/* it returns None, which Odoo answers with no result */
		if (!jb_has(answer, "result"))
			return CREATE_MADE;
		odoo_malformed(r, "pos.session", method, "a result, where the method returns none");
		return CREATE_UNKNOWN;
	}
	if ((result = jb_object(answer, "result")) == NULL)
	{
		odoo_malformed(r, "pos.session", method, "the result is not an object");
		return CREATE_UNKNOWN;
	}
	if (jb_bool(result, "successful", false))
		return CREATE_MADE;
	if (!session_state(ctx, r, id, &state))
		return CREATE_FAILED;
	if (strcmp(state, "closed") == 0)
		return CREATE_CONFLICT;
	message = jb_text(result, "message");
	step_fail(r, FAIL_PERMANENT, "pos.session %ld cannot be closed (%s): %s", id, method,
			  message ? psprintf("%.300s", message) : "the engine says it was not successful");
	return CREATE_FAILED;
}

/*
 * Closes the session as the POS UI does, with the methods 16, 17 and 18 share (B1): with cash
 * control, post_closing_cash_details with the counted cash the session expects (no
 * difference to post, which would need the cash journal's loss or profit account);
 * update_closing_control_state_session, unless it is in closing_control already;
 * close_session_from_ui, which validates it; the state read back. The first two only set
 * what they set again; the last is the closing, sent once (create_once: not again while an
 * earlier one may still be applied, after a lost answer or a crash).
 */
static CreateAnswer
closing_send(StepContext *ctx, StepResult *r, void *arg)
{
	Closing    *c = (Closing *) arg;
	CreateAnswer a;
	char	   *state;

	if (c->cash_control &&
		(a = closing_call(ctx, r, "post_closing_cash_details", c->id,
						  psprintf("[[%ld],%s]", c->id, c->counted), false)) != CREATE_MADE)
		return a;
	if (strcmp(c->state, "closing_control") != 0 &&
		(a = closing_call(ctx, r, "update_closing_control_state_session", c->id,
						  psprintf("[[%ld],\"closed by provisioning\"]", c->id), true)) != CREATE_MADE)
		return a;
	c->sent = true;
	if ((a = closing_call(ctx, r, "close_session_from_ui", c->id, psprintf("[[%ld],[]]", c->id), false)) != CREATE_MADE)
		return a;
	if (!session_state(ctx, r, c->id, &state))
		return CREATE_FAILED;
	if (strcmp(state, "closed") != 0)
	{
		step_fail(r, FAIL_PERMANENT, "close_session_from_ui answered successful, yet pos.session %ld is %s", c->id, state);
		return CREATE_FAILED;
	}
	return CREATE_MADE;
}

/* suspend_1_close_session, offboard_1_close_session: the recorded config's open sessions closed */
void
odoo_step_close_session(StepContext *ctx, StepResult *r)
{
	long		config = odoo_recorded_config(ctx, r);
	JsonbContainer *rec;
	JsonbContainer *sessions;
	StringInfoData names;
	bool		cash_control;
	int			n,
				closed = 0;

	if (config == 0 || odoo_recorded_company(ctx, r, true) == 0)
		return;
	if (!odoo_read_any(ctx, r, "pos.config", config, "[\"name\",\"cash_control\"]", &rec))
		return;
	if (rec == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "POS config %s (pos.config %ld) does not exist in the engine",
				  meta_get(ctx, "pos_profile"), config);
		return;
	}
	cash_control = jb_bool(rec, "cash_control", false);
	if (!cash_control && !jb_false(rec, "cash_control"))
	{
		odoo_malformed(r, "pos.config", "search_read", "cash_control is not a boolean");
		return;
	}
	if (!odoo_search_all(ctx, r, "pos.session",
						 psprintf("[[\"config_id\",\"=\",%ld],[\"state\",\"!=\",\"closed\"]]", config),
						 "[\"name\"]", 0, MAX_OPEN_SESSIONS + 1, &sessions))
		return;
	if ((n = jb_array_length(sessions)) > MAX_OPEN_SESSIONS)
	{
		step_fail(r, FAIL_PERMANENT, "pos.config %ld has more than %d sessions not closed", config, MAX_OPEN_SESSIONS);
		return;
	}
	initStringInfo(&names);
	for (int i = 0; i < n; i++)
	{
		JsonbContainer *session = jb_array_object(sessions, i);
		Closing		c = {.cash_control = cash_control};
		CreateOnce	once = {.request = "pos.session close_session_from_ui",.lookup = closing_lookup,
		.create = closing_send,.arg = &c};
		bool		done;
		char	   *name;

		/* a record of the list has its id (odoo_search_all) */
		(void) jb_int(session, "id", &c.id);
		once.target = psprintf("the closing of pos.session %ld", c.id);
		if (!create_once(ctx, r, &once, &done))
			return;
		/* its answer lost, the closing this attempt sent is found made */
		done |= c.sent;
		closed += done;
		if (done)
			appendStringInfo(&names, "%s%s", names.len > 0 ? ", " : "",
							 jb_str(session, "name", &name) ? name : "?");
	}
	if (closed == 0)
		step_done(ctx, r, false, "POS config %s (pos.config %ld) has no open session", meta_get(ctx, "pos_profile"),
				  config);
	else
		step_done(ctx, r, true, "POS session %s of pos.config %ld closed", names.data, config);
}

/* suspend_2_disable_pos, offboard_2_disable_pos: the recorded pos.config archived */
void
odoo_step_disable_pos(StepContext *ctx, StepResult *r)
{
	long		config = odoo_recorded_config(ctx, r);
	int			changed;

	if (config == 0 || odoo_recorded_company(ctx, r, true) == 0 ||
		!ensure_active(ctx, r, "pos.config", "the POS config", &config, 1, false, &changed))
		return;
	step_done(ctx, r, changed > 0, "POS config %s (pos.config %ld) %s", meta_get(ctx, "pos_profile"), config,
			  changed > 0 ? "archived" : "is archived");
}

/*
 * The recorded company's id and whether it is active, as resume and the archive read it
 * first (archived records included); false when the result holds the failure.
 */
static bool
recorded_company_active(StepContext *ctx, StepResult *r, long *cid, bool *active)
{
	const char *recorded = meta_recorded(ctx, r, "company_id", "the tenant's company");
	JsonbContainer *rec;

	*cid = recorded ? strtol(recorded, NULL, 10) : 0;
	if (recorded == NULL || !odoo_company_record(ctx, r, *cid, "[\"active\"]", &rec))
		return false;
	if (rec == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "company %s (res.company %ld) does not exist in the engine", company_of(ctx), *cid);
		return false;
	}
	if (!odoo_active(rec, active))
	{
		odoo_malformed(r, "res.company", "search_read", "active is not a boolean");
		return false;
	}
	return true;
}

/*
 * resume_1_enable_pos: what a suspend or an offboarding archived, unarchived: the company
 * first (until then the engine refuses it in a call's context), then the recorded
 * warehouses (with their operation types), then the recorded config. After a suspend only
 * the config is archived: the rest is read and left as it is.
 */
void
odoo_step_enable_pos(StepContext *ctx, StepResult *r)
{
	long		cid;
	long		warehouses[2];
	long		config = recorded_id(ctx, "pos_config_id");
	int			nwarehouses = 0;
	int			company = 0,
				stores = 0,
				configs = 0;
	bool		active;

	if (!recorded_company_active(ctx, r, &cid, &active))
		return;
	/* without the company in the context, which the engine refuses while it is archived */
	session_of(ctx)->company = 0;
	if (!active && !odoo_set_active(ctx, r, "res.company", psprintf("[%ld]", cid), true))
		return;
	company = !active;
	if (odoo_recorded_company(ctx, r, true) == 0)
		return;
	if ((warehouses[nwarehouses] = recorded_id(ctx, "main_warehouse_id")) != 0)
		nwarehouses++;
	if ((warehouses[nwarehouses] = recorded_id(ctx, "pos_warehouse_id")) != 0)
		nwarehouses++;
	if (!ensure_active(ctx, r, "stock.warehouse", "a warehouse of the tenant", warehouses, nwarehouses, true, &stores))
		return;
	if (config != 0 && !ensure_active(ctx, r, "pos.config", "the POS config", &config, 1, true, &configs))
		return;
	if (config == 0 && company + stores == 0)
	{
		step_skip(r, "the tenant has no POS config (provisioned without the point of sale), and nothing of it is archived");
		return;
	}
	step_done(ctx, r, company + stores + configs > 0, "%s%s%s",
			  company ? psprintf("company %s unarchived; ", company_of(ctx)) : "",
			  stores ? psprintf("%d warehouses unarchived; ", stores) : "",
			  config == 0 ? "no POS config" :
			  psprintf("POS config %s (pos.config %ld) %s", meta_get(ctx, "pos_profile"), config,
					   configs ? "unarchived" : "is active"));
}

/* resume_2_open_session: provisioning's session step, on the recorded config (it records the session) */
void
odoo_step_reopen_session(StepContext *ctx, StepResult *r)
{
	long		config = odoo_recorded_config(ctx, r);

	if (config == 0)
		return;
	session_of(ctx)->pos_config = config;
	odoo_step_pos_session(ctx, r);
}

/* The ids of the active records of model matching domain, as a JSON list; *n of them */
static bool
active_ids(StepContext *ctx, StepResult *r, const char *model, const char *domain, char **ids, int *n)
{
	JsonbContainer *rows;
	JsonWriter	list;

	if (!odoo_search_read(ctx, r, model, domain, "[\"name\"]", &rows))
		return false;
	*n = jb_array_length(rows);
	jw_open(&list, '[');
	for (int i = 0; i < *n; i++)
	{
		long		id;

		/* a record of the list has its id (odoo_search_read) */
		(void) jb_int(jb_array_object(rows, i), "id", &id);
		jw_int(&list, NULL, id);
	}
	jw_close(&list, ']');
	*ids = list.buf.data;
	return true;
}

/*
 * What offboard_4_archive archives once it read the company active: the company's POS
 * configs, its warehouses, then the company. Odoo refuses to archive a company that is an
 * active user's default company (_check_active, B2): this fails saying whose, before it
 * archives anything, rather than give those users another default company: which company a
 * person logs into is not the tenant's to decide, and a user of this company alone has no
 * other.
 */
static bool
archive_company(StepContext *ctx, StepResult *r, long cid, int *nconfigs, int *nwarehouses)
{
	JsonbContainer *users;
	char	   *configs,
			   *warehouses;
	char	   *domain;

	if (odoo_recorded_company(ctx, r, true) == 0 ||
		!odoo_search_read(ctx, r, "res.users", psprintf("[[\"company_id\",\"=\",%ld]]", cid), "[\"login\"]", &users))
		return false;
	if (jb_array_length(users) > 0)
	{
		StringInfoData logins;

		initStringInfo(&logins);
		for (int i = 0; i < jb_array_length(users) && i < 5; i++)
		{
			char	   *login;

			appendStringInfo(&logins, "%s%.80s", i > 0 ? ", " : "",
							 jb_str(jb_array_object(users, i), "login", &login) ? login : "?");
		}
		step_fail(r, FAIL_PERMANENT,
				  "company %s is the default company of %d active users (%s%s): Odoo refuses to archive it; give them another default company, then retry the offboarding",
				  company_of(ctx), jb_array_length(users), logins.data, jb_array_length(users) > 5 ? ", ..." : "");
		return false;
	}
	domain = psprintf("[[\"company_id\",\"=\",%ld]]", cid);
	return active_ids(ctx, r, "pos.config", domain, &configs, nconfigs) &&
		(*nconfigs == 0 || odoo_set_active(ctx, r, "pos.config", configs, false)) &&
		active_ids(ctx, r, "stock.warehouse", domain, &warehouses, nwarehouses) &&
		(*nwarehouses == 0 || odoo_set_active(ctx, r, "stock.warehouse", warehouses, false)) &&
		odoo_set_active(ctx, r, "res.company", psprintf("[%ld]", cid), false);
}

/*
 * Is company cid archived now, after the step read it active and a call was refused? The archive
 * an interrupted execution of the step sent (before a crash, or with its answer lost) may be
 * applied by the engine while this one runs; from then on the engine refuses the company in
 * a call's context ("Access to unauthorized or invalid companies"), and the call fails. Read
 * into a result of its own: the failure stands when the company is still active or cannot
 * be read.
 */
static bool
archived_meanwhile(StepContext *ctx, long cid)
{
	StepResult	reread = {.retry_after_s = -1};
	JsonbContainer *rec;
	bool		active;

	return odoo_company_record(ctx, &reread, cid, "[\"active\"]", &rec) && rec != NULL &&
		odoo_active(rec, &active) && !active;
}

/*
 * offboard_4_archive: the company's POS configs, its warehouses, then the company, archived
 * (nothing deleted; archive_company). The company goes last: once it is archived the engine
 * refuses it in a call's context, so a company read archived, before the step or after one
 * of its calls failed, means the rest was archived before it.
 */
void
odoo_step_archive(StepContext *ctx, StepResult *r)
{
	long		cid;
	int			nconfigs = 0,
				nwarehouses = 0;
	bool		active;

	if (!recorded_company_active(ctx, r, &cid, &active))
		return;
	if (active && !archive_company(ctx, r, cid, &nconfigs, &nwarehouses))
	{
		/* a transient failure is retried, and the next attempt reads the company first */
		if (r->kind != FAIL_PERMANENT || !archived_meanwhile(ctx, cid))
			return;
		/* the failure was the engine refusing the company it has just archived */
		active = false;
	}
	/* the engine refuses the archived company in a call's context from now on */
	session_of(ctx)->company = 0;
	if (!active)
	{
		step_done(ctx, r, false, "company %s (res.company %ld) is archived, with its warehouses and POS configs",
				  company_of(ctx), cid);
		return;
	}
	step_done(ctx, r, true, "archived %d POS configs, %d warehouses and company %s (res.company %ld)",
			  nconfigs, nwarehouses, company_of(ctx), cid);
}
