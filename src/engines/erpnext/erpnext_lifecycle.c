/*
 * erpnext_lifecycle.c
 *     The ERPNext driver's lifecycle steps (reference/lifecycle-api.md, A1-A3): suspending
 *     closes the open POS Opening Entry with a POS Closing Entry, then disables the POS
 *     Profile (which ERPNext refuses while an entry is open); offboarding does the same, then
 *     exports (erpnext_export.c) and archives: the company's warehouses disabled; resuming
 *     enables what either disabled and opens a new entry on the profile (erpnext_pos.c's
 *     session step).
 *
 * They act on what the provisioning recorded (the run's metadata: pos_profile), and read
 * before they write: a closing entry is looked up by its opening entry before one is made,
 * and the profile's flag is set only when it is not already so, so a crash or a lost answer
 * never leads to a second closing entry; a tenant provisioned without a point of sale has
 * nothing to suspend or resume (skipped).
 */
#include "postgres.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

#define GET_POS_INVOICES "/api/method/erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry.get_pos_invoices"

/* The POS profile the provisioning made, or NULL (the step skipped) when it made none. */
static const char *
recorded_profile(StepContext *ctx, StepResult *r)
{
	const char *profile = meta_get(ctx, "pos_profile");

	if (profile != NULL && profile[0] != '\0')
		return profile;
	step_skip(r, "the tenant has no POS profile: it was provisioned without the point of sale");
	return NULL;
}

/* One mode of payment of the session: what it opened with and what its sales added */
typedef struct PaymentRow
{
	char	   *mode;
	double		opening;
	double		expected;
} PaymentRow;

/* The row of mode among n, added (opening 0) when it is not there yet */
static PaymentRow *
payment_row(PaymentRow *rows, int *n, const char *mode)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(rows[i].mode, mode) == 0)
			return &rows[i];
	rows[*n].mode = pstrdup(mode);
	rows[*n].opening = rows[*n].expected = 0;
	return &rows[(*n)++];
}

static double
amount(JsonbContainer *row, const char *key)
{
	char	   *text = jb_text(row, key);

	return text ? strtod(text, NULL) : 0;
}

/*
 * The POS Closing Entry of the opening entry, submitted: the server fills none of its rows
 * (A1), so they are sent: one payment reconciliation row per mode of payment (opening
 * amount, expected = opening + the sales paid with it, counted as closed with what was
 * expected) and one transaction row per unconsolidated invoice of the session, as
 * get_pos_invoices lists them. The invoices are asked for up to any time: the engine's clock
 * and time zone are not the database's, and a session closes as a whole.
 */
static char *
closing_body(StepContext *ctx, StepResult *r, JsonbContainer *opening, const char *profile, int *ninvoices)
{
	char	   *name = jb_text(opening, "name");
	char	   *start = jb_text(opening, "period_start_date");
	char	   *user = jb_text(opening, "user");
	JsonbContainer *balances = jb_array(opening, "balance_details");
	JsonbContainer *root;
	JsonbContainer *invoices;
	PaymentRow *rows;
	int			nrows = 0;
	int			capacity;
	char		today[16],
				now[32];
	int			year;
	JsonWriter	body,
				payments,
				transactions;

	if (start == NULL || user == NULL)
	{
		step_malformed(r, "GET POS Opening Entry", "it has no period_start_date or user");
		return NULL;
	}
	if (frappe_call(ctx, r, "GET",
					psprintf("%s?start=%s&end=%s&pos_profile=%s&user=%s", GET_POS_INVOICES, http_escape(start),
							 http_escape("9999-12-31 23:59:59"), http_escape(profile), http_escape(user)),
					NULL, &root) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_PERMANENT, "the engine has no get_pos_invoices method (HTTP 404)");
		return NULL;
	}
	if ((invoices = jb_array(root, "message")) == NULL)
	{
		step_malformed(r, "get_pos_invoices", "message is not a list of invoices");
		return NULL;
	}

	capacity = (balances ? jb_array_length(balances) : 0) + 1;
	for (int i = 0; i < jb_array_length(invoices); i++)
	{
		JsonbContainer *paid = jb_array(jb_array_object(invoices, i), "payments");

		capacity += paid ? jb_array_length(paid) : 0;
	}
	rows = palloc(sizeof(PaymentRow) * capacity);
	for (int i = 0; balances && i < jb_array_length(balances); i++)
	{
		JsonbContainer *b = jb_array_object(balances, i);
		char	   *mode;

		if (b == NULL || !jb_str(b, "mode_of_payment", &mode))
			continue;
		payment_row(rows, &nrows, mode)->opening += amount(b, "opening_amount");
	}

	jw_open(&transactions, '[');
	for (int i = 0; i < jb_array_length(invoices); i++)
	{
		JsonbContainer *inv = jb_array_object(invoices, i);
		JsonbContainer *paid = inv ? jb_array(inv, "payments") : NULL;
		JsonWriter	t;
		char	   *invoice;

		if (inv == NULL || !jb_str(inv, "name", &invoice))
		{
			step_malformed(r, "get_pos_invoices", psprintf("message[%d] is not an invoice with a name", i));
			return NULL;
		}
		for (int j = 0; paid && j < jb_array_length(paid); j++)
		{
			JsonbContainer *p = jb_array_object(paid, j);
			char	   *mode;

			if (p != NULL && jb_str(p, "mode_of_payment", &mode))
				payment_row(rows, &nrows, mode)->expected += amount(p, "amount");
		}
		jw_open(&t, '{');
		jw_str(&t, "pos_invoice", invoice);
		jw_str(&t, "posting_date", jb_text(inv, "posting_date"));
		jw_str(&t, "customer", jb_text(inv, "customer"));
		jw_num(&t, "grand_total", amount(inv, "grand_total"));
		jw_close(&t, '}');
		jw_raw(&transactions, NULL, t.buf.data);
	}
	jw_close(&transactions, ']');
	*ninvoices = jb_array_length(invoices);

	jw_open(&payments, '[');
	for (int i = 0; i < nrows; i++)
	{
		JsonWriter	p;
		double		expected = rows[i].opening + rows[i].expected;

		jw_open(&p, '{');
		jw_str(&p, "mode_of_payment", rows[i].mode);
		jw_num(&p, "opening_amount", rows[i].opening);
		jw_num(&p, "expected_amount", expected);
		jw_num(&p, "closing_amount", expected);
		jw_num(&p, "difference", 0);
		jw_close(&p, '}');
		jw_raw(&payments, NULL, p.buf.data);
	}
	jw_close(&payments, ']');

	erpnext_now_texts(today, sizeof(today), now, sizeof(now), &year);
	jw_open(&body, '{');
	jw_str(&body, "pos_opening_entry", name);
	jw_str(&body, "company", jb_text(opening, "company"));
	jw_str(&body, "pos_profile", profile);
	jw_str(&body, "user", user);
	jw_str(&body, "period_start_date", start);
	jw_str(&body, "period_end_date", now);
	jw_str(&body, "posting_date", today);
	jw_raw(&body, "payment_reconciliation", payments.buf.data);
	jw_raw(&body, "pos_transactions", transactions.buf.data);
	jw_int(&body, "docstatus", 1);
	jw_close(&body, '}');
	return body.buf.data;
}

/*
 * How many times a queued closing entry is read again, with the step's backoff between
 * reads, before the attempt fails (transient: the step's retries read on): the engine's
 * background merge of a busy session's invoices takes a while.
 */
#define QUEUED_POLLS 8

/*
 * The closing entry's state: submitted (its invoices merged, the opening entry Closed) is
 * done; queued, the engine merges 10 invoices or more in the background and the step waits
 * for it (read again, then a transient failure, retried); a failed merge, or a draft some
 * else left, needs a person.
 */
static bool
closing_settled(StepContext *ctx, StepResult *r, const char *closing, const char *opening)
{
	for (int poll = 0;; poll++)
	{
		JsonbContainer *doc;
		char	   *status;
		long		docstatus;

		if (poll > 0)
			backoff_sleep(poll, -1);
		if (frappe_get(ctx, r, "POS Closing Entry", closing, &doc) != FRAPPE_OK)
		{
			if (r->status != STEP_FAILED)
				step_fail(r, FAIL_TRANSIENT, "POS closing entry %s cannot be read back", closing);
			return false;
		}
		if (!jb_int(doc, "docstatus", &docstatus) || !jb_str(doc, "status", &status))
			return step_malformed(r, "GET POS Closing Entry", "it has no docstatus or status");
		if (docstatus == 0)
			step_fail(r, FAIL_PERMANENT,
					  "POS opening entry %s has a draft closing entry, %s, that this run did not make: submit or delete it",
					  opening, closing);
		else if (strcmp(status, "Queued") == 0)
		{
			if (poll < QUEUED_POLLS)
				continue;
			step_fail(r, FAIL_TRANSIENT, "POS closing entry %s is queued: the engine merges its invoices in the background",
					  closing);
		}
		else if (strcmp(status, "Failed") == 0)
			step_fail(r, FAIL_PERMANENT, "POS closing entry %s failed to merge its invoices: %s", closing,
					  jb_text(doc, "error_message") ? jb_text(doc, "error_message") : "no reason given");
		else
			return true;
		return false;
	}
}

/* suspend_1_close_session: the profile's open POS Opening Entry, closed */
void
erpnext_step_close_session(StepContext *ctx, StepResult *r)
{
	const char *profile = recorded_profile(ctx, r);
	const char *open_pairs[] = {"pos_profile", profile, "status", "Open", "docstatus", "1"};
	JsonbContainer *row;
	JsonbContainer *opening;
	char	   *opening_name;
	char	   *filters;
	char	   *body;
	char	   *closing;
	const char *closing_pairs[2];
	JsonWriter	cond;
	int			ninvoices = 0;
	bool		created;

	if (profile == NULL)
		return;
	if (frappe_find(ctx, r, "POS Opening Entry", NULL, frappe_equal_filters(3, open_pairs), &row) != FRAPPE_OK)
		return;
	if (row == NULL)
	{
		step_done(ctx, r, false, "POS profile %s has no open session", profile);
		return;
	}
	if (!jb_str(row, "name", &opening_name))
	{
		step_malformed(r, "GET POS Opening Entry", "the open entry has no name");
		return;
	}
	if (frappe_get(ctx, r, "POS Opening Entry", opening_name, &opening) != FRAPPE_OK)
	{
		if (r->status != STEP_FAILED)
			step_fail(r, FAIL_TRANSIENT, "POS opening entry %s vanished as it was read", opening_name);
		return;
	}
	if ((body = closing_body(ctx, r, opening, profile, &ninvoices)) == NULL)
		return;
	closing_pairs[0] = "pos_opening_entry";
	closing_pairs[1] = opening_name;
	/* a closing entry not cancelled is the one: made by an earlier attempt whose answer was lost */
	jw_open(&cond, '[');
	jw_str(&cond, NULL, "docstatus");
	jw_str(&cond, NULL, "!=");
	jw_int(&cond, NULL, 2);
	jw_close(&cond, ']');
	filters = frappe_equal_filters(1, closing_pairs);
	filters[strlen(filters) - 1] = '\0';
	filters = psprintf("%s,%s]", filters, cond.buf.data);
	if (!frappe_find_or_insert(ctx, r, "POS Closing Entry", filters, false, body, &closing, &created))
		return;
	if (!closing_settled(ctx, r, closing, opening_name))
		return;
	meta_set(ctx, "pos_closing_entry", closing);
	step_done(ctx, r, created, "POS opening entry %s closed by %s (%d invoices)", opening_name, closing, ninvoices);
}

/*
 * The recorded POS profile disabled (or enabled): read, and written only when it is not so
 * already (frappe_set_fields); what was written is appended to changed. ERPNext refuses to
 * disable a profile with an open session.
 */
static bool
profile_disabled(StepContext *ctx, StepResult *r, const char *profile, bool disabled, StringInfo changed)
{
	FrappeField flag = {"disabled", disabled ? "1" : "0", true};
	JsonbContainer *doc;
	FrappeStatus st = frappe_get(ctx, r, "POS Profile", profile, &doc);

	if (st == FRAPPE_NOT_FOUND)
		step_fail(r, FAIL_PERMANENT, "POS profile %s does not exist in the engine", profile);
	if (st != FRAPPE_OK)
		return false;
	return frappe_set_fields(ctx, r, "POS Profile", profile, doc, 1, &flag, changed);
}

/* suspend_2_disable_pos, offboard_2_disable_pos */
void
erpnext_step_disable_pos(StepContext *ctx, StepResult *r)
{
	const char *profile = recorded_profile(ctx, r);
	StringInfoData changed;

	initStringInfo(&changed);
	if (profile != NULL && profile_disabled(ctx, r, profile, true, &changed))
		step_done(ctx, r, changed.len > 0, "POS profile %s %s", profile, changed.len ? "disabled" : "is disabled");
}

/*
 * The most warehouses of a company the archive step disables: the company's own (ERPNext
 * makes five, the provisioning one or two); an engine answering more is not believed.
 */
#define MAX_COMPANY_WAREHOUSES 200

/* The names a metadata value holds as a JSON list of at most max strings, or -1. */
static int
recorded_names(const char *value, int max, const char **names)
{
	Jsonb	   *list = value ? jb_parse(value, strlen(value)) : NULL;
	int			n;

	if (list == NULL || !JsonContainerIsArray(&list->root) || (n = jb_array_length(&list->root)) > max)
		return -1;
	for (int i = 0; i < n; i++)
		if (!jb_array_str(&list->root, i, (char **) &names[i]))
			return -1;
	return n;
}

/*
 * resume_1_enable_pos: the warehouses an offboarding disabled (recorded by its archive step)
 * enabled again, then the recorded POS profile: a resumed point of sale sells from them. A
 * warehouse deleted since is no longer there to enable, and said so.
 */
void
erpnext_step_enable_pos(StepContext *ctx, StepResult *r)
{
	const char *profile = recorded_profile(ctx, r);
	const char *archived = meta_get(ctx, "archived_warehouses");
	const char *names[MAX_COMPANY_WAREHOUSES];
	JsonbContainer *rows[MAX_COMPANY_WAREHOUSES];
	FrappeField enabled = {"disabled", "0", true};
	StringInfoData changed,
				gone;
	int			n = 0;
	int			ngone = 0;

	if (profile == NULL)
		return;
	initStringInfo(&changed);
	initStringInfo(&gone);
	if (archived != NULL && archived[0] != '\0')
	{
		if ((n = recorded_names(archived, MAX_COMPANY_WAREHOUSES, names)) < 0)
		{
			step_fail(r, FAIL_PERMANENT, "the recorded archived_warehouses is not a list of at most %d names",
					  MAX_COMPANY_WAREHOUSES);
			return;
		}
		if (n > 0 && frappe_read_names(ctx, r, "Warehouse", n, names, "[\"name\",\"disabled\"]", rows) != FRAPPE_OK)
			return;
		for (int i = 0; i < n; i++)
		{
			if (rows[i] == NULL)
				appendStringInfo(&gone, "%s%s", ngone++ ? ", " : "", names[i]);
			else if (!frappe_set_fields(ctx, r, "Warehouse", names[i], rows[i], 1, &enabled, &changed))
				return;
		}
	}
	if (!profile_disabled(ctx, r, profile, false, &changed))
		return;
	/* enabled: a later resume has nothing of the offboarding's left to enable */
	if (n > 0)
		meta_set(ctx, "archived_warehouses", "");
	if (n == 0)
		step_done(ctx, r, changed.len > 0, "POS profile %s %s", profile, changed.len ? "enabled" : "is enabled");
	else
		step_done(ctx, r, changed.len > 0, "POS profile %s and the %d warehouses the offboarding disabled are enabled%s%s%s",
				  profile, n - ngone, ngone ? " (no longer in the engine: " : "", gone.data, ngone ? ")" : "");
}

/*
 * offboard_4_archive: what belongs to the tenant alone disabled (reference/lifecycle-api.md,
 * spec section 12): the company's warehouses, every one the engine lists for it, and the POS
 * profile (offboard_2 disabled it already: read back). A Company has no such flag and the
 * walk-in customer is shared by the site's companies, so both stay; nothing is deleted. The
 * warehouses are recorded (archived_warehouses) for a resume to enable again; a warehouse
 * disabled before the offboarding is among them, since an attempt cannot tell its own earlier
 * writes from a person's.
 */
void
erpnext_step_archive(StepContext *ctx, StepResult *r)
{
	const char *company = meta_recorded(ctx, r, "company", "the company");
	const char *profile = meta_get(ctx, "pos_profile");
	const char *pair[2] = {"company", company};
	FrappeField disabled = {"disabled", "1", true};
	JsonbContainer *rows;
	StringInfoData changed;
	JsonWriter	names;
	int			n;

	if (company == NULL)
		return;
	initStringInfo(&changed);
	if (frappe_list(ctx, r, "Warehouse", "[\"name\",\"disabled\"]", frappe_equal_filters(1, pair),
					"creation asc, name asc", 0, MAX_COMPANY_WAREHOUSES + 1, &rows) != FRAPPE_OK)
		return;
	if ((n = jb_array_length(rows)) > MAX_COMPANY_WAREHOUSES)
	{
		step_fail(r, FAIL_PERMANENT, "company %s has more than %d warehouses: not archived", company,
				  MAX_COMPANY_WAREHOUSES);
		return;
	}
	jw_open(&names, '[');
	for (int i = 0; i < n; i++)
	{
		JsonbContainer *row = jb_array_object(rows, i);
		char	   *name;

		/* a list's rows are documents with their names (frappe_list) */
		(void) jb_str(row, "name", &name);
		if (!frappe_set_fields(ctx, r, "Warehouse", name, row, 1, &disabled, &changed))
			return;
		jw_str(&names, NULL, name);
	}
	jw_close(&names, ']');
	if (profile != NULL && profile[0] != '\0' && !profile_disabled(ctx, r, profile, true, &changed))
		return;
	meta_set(ctx, "archived_warehouses", names.buf.data);
	step_done(ctx, r, changed.len > 0, "%d warehouses of %s%s%s disabled; the company and the customer stay",
			  n, company, profile && profile[0] ? " and POS profile " : "", profile && profile[0] ? profile : "");
}

/* resume_2_open_session: provisioning's open session step, on the recorded profile */
void
erpnext_step_reopen_session(StepContext *ctx, StepResult *r)
{
	if (recorded_profile(ctx, r) != NULL)
		erpnext_step_pos_session(ctx, r);
}
