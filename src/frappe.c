/*
 * frappe.c
 *     A client of Frappe's REST API (v1 paths), on which ERPNext runs: requests, the
 *     error envelope, and the read-before-create helpers every ERPNext step uses.
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "driver.h"
#include "frappe.h"
#include "json.h"
#include "provisioning.h"

/* Frappe wraps messages twice: a JSON string holding a list of JSON strings. */
static void
append_server_messages(StringInfo out, const char *encoded)
{
	Jsonb	   *list = jb_parse(encoded, strlen(encoded));

	if (list == NULL || !JsonContainerIsArray(&list->root))
		return;
	for (int i = 0; i < jb_array_length(&list->root); i++)
	{
		char	   *item = jb_array_text(&list->root, i);
		Jsonb	   *msg = item ? jb_parse(item, strlen(item)) : NULL;
		char	   *text = msg ? jb_text(&msg->root, "message") : item;
		bool		in_tag = false;

		if (text == NULL)
			continue;
		if (out->len > 0)
			appendStringInfoString(out, "; ");
		/* the messages carry HTML such as <strong>; keep the text */
		for (const char *c = text; *c; c++)
		{
			if (*c == '<')
				in_tag = true;
			else if (*c == '>')
				in_tag = false;
			else if (!in_tag)
				appendStringInfoChar(out, *c);
		}
	}
}

/* The error envelope of an engine's answer, or NULL. */
static JsonbContainer *
error_body(HttpResponse *resp)
{
	Jsonb	   *body = jb_parse(resp->body.data, resp->body.len);

	return (body != NULL && JsonContainerIsObject(&body->root)) ? &body->root : NULL;
}

/* A person-readable reason from an engine error response. */
static char *
error_reason(HttpResponse *resp)
{
	StringInfoData out;
	JsonbContainer *body;
	char	   *exc_type = NULL;
	char	   *messages;

	if (resp->status == 0)
		return pstrdup(resp->error);

	initStringInfo(&out);
	if ((body = error_body(resp)) != NULL)
	{
		exc_type = jb_text(body, "exc_type");
		messages = jb_text(body, "_server_messages");
		if (messages)
			append_server_messages(&out, messages);
		if (out.len == 0 && (messages = jb_text(body, "exception")) != NULL)
			appendStringInfoString(&out, messages);
	}
	if (out.len == 0)
		return psprintf("HTTP %ld%s%s", resp->status, exc_type ? " " : "", exc_type ? exc_type : "");
	return psprintf("HTTP %ld %s: %s", resp->status, exc_type ? exc_type : "error", out.data);
}

/*
 * Sends one request. 404 and 409 are answers the caller interprets; any other
 * failure is classified into the result. A GET that fails transiently is sent again
 * right here, up to provisioning.http_retries times; a write is not, because the
 * engine may have applied it: its step is retried instead (as many times), and reads
 * first. An engine that cannot be reached at all is left to the step's retries.
 */
FrappeStatus
frappe_call(RunContext *ctx, StepResult *r, const char *method, const char *path,
		 const char *body, JsonbContainer **root)
{
	HttpResponse resp = {0};
	char	   *url = psprintf("%s%s", ctx->base_url, path);
	Jsonb	   *json;
	const char *what = strchr(path, '?') ? pnstrdup(path, strchr(path, '?') - path) : path;

	*root = NULL;
	http_request(&ctx->http, method, url, body, &resp);
	for (int attempt = 1; strcmp(method, "GET") == 0 && attempt <= prov_http_retries &&
		 resp.outcome == HTTP_TRANSIENT; attempt++)
	{
		backoff_sleep(attempt, resp.retry_after_s);
		http_request(&ctx->http, method, url, body, &resp);
	}
	switch (resp.outcome)
	{
		case HTTP_OK:
			json = jb_parse(resp.body.data, resp.body.len);
			if (json == NULL || !JsonContainerIsObject(&json->root))
			{
				step_fail(r, FAIL_TRANSIENT, "%s %s: the engine answered HTTP %ld with no JSON object",
						  method, what, resp.status);
				return FRAPPE_FAILED;
			}
			*root = &json->root;
			return FRAPPE_OK;
		case HTTP_NOT_FOUND:
			return FRAPPE_NOT_FOUND;
		case HTTP_CONFLICT:
			step_fail(r, FAIL_PERMANENT, "%s %s: %s", method, what, error_reason(&resp));
			return FRAPPE_CONFLICT;
		case HTTP_UNAUTHORIZED:
			step_fail(r, FAIL_PERMANENT, "the engine refused the API key: %s %s: %s",
					  method, what, error_reason(&resp));
			return FRAPPE_FAILED;
		case HTTP_REJECTED:
			{
				/*
				 * A document changed since the step read it (a write that sends back the
				 * read's "modified" is refused so): the step's next attempt reads again.
				 */
				JsonbContainer *envelope = error_body(&resp);
				char	   *exc_type = envelope ? jb_text(envelope, "exc_type") : NULL;
				bool		stale = exc_type && strcmp(exc_type, "TimestampMismatchError") == 0;

				step_fail(r, stale ? FAIL_TRANSIENT : FAIL_PERMANENT, "%s %s: %s", method, what,
						  error_reason(&resp));
				return FRAPPE_FAILED;
			}
		case HTTP_TRANSIENT:
			step_fail(r, FAIL_TRANSIENT, "%s %s: %s", method, what, error_reason(&resp));
			r->retry_after_s = resp.retry_after_s;
			return (strcmp(method, "GET") != 0 && resp.outcome_unknown) ? FRAPPE_UNKNOWN : FRAPPE_FAILED;
		case HTTP_UNREACHABLE:
			step_fail(r, FAIL_OFFLINE, "the engine is offline: %s", resp.error);
			return FRAPPE_FAILED;
	}
	pg_unreachable();
}

char *
frappe_resource_path(const char *doctype, const char *name)
{
	if (name == NULL)
		return psprintf("/api/resource/%s", http_escape(doctype));
	return psprintf("/api/resource/%s/%s", http_escape(doctype), http_escape(name));
}

/* Reads one document into *doc. */
FrappeStatus
frappe_get(RunContext *ctx, StepResult *r, const char *doctype, const char *name, JsonbContainer **doc)
{
	JsonbContainer *root;
	FrappeStatus	st = frappe_call(ctx, r, "GET", frappe_resource_path(doctype, name), NULL, &root);

	*doc = (st == FRAPPE_OK) ? jb_object(root, "data") : NULL;
	if (st == FRAPPE_OK && *doc == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "GET %s: the answer has no document", frappe_resource_path(doctype, name));
		return FRAPPE_FAILED;
	}
	return st;
}

/* The first document matching filters (a JSON list) as {"name": ...}, or NULL in *row. */
static FrappeStatus
frappe_find(RunContext *ctx, StepResult *r, const char *doctype, const char *filters, JsonbContainer **row)
{
	JsonbContainer *root;
	char	   *path = psprintf("%s?fields=%s&filters=%s&limit_page_length=1",
								frappe_resource_path(doctype, NULL), http_escape("[\"name\"]"),
								http_escape(filters));
	FrappeStatus	st = frappe_call(ctx, r, "GET", path, NULL, &root);

	*row = (st == FRAPPE_OK) ? jb_array_object(jb_array(root, "data"), 0) : NULL;
	return st;
}

FrappeStatus
frappe_count(RunContext *ctx, StepResult *r, const char *doctype, const char *filters, long *count)
{
	JsonbContainer *root;
	char	   *path = psprintf("/api/method/frappe.client.get_count?doctype=%s&filters=%s",
								http_escape(doctype), http_escape(filters));
	FrappeStatus	st = frappe_call(ctx, r, "GET", path, NULL, &root);
	char	   *n = (st == FRAPPE_OK) ? jb_text(root, "message") : NULL;

	if (st == FRAPPE_OK && n == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "get_count of %s: the answer has no count", doctype);
		return FRAPPE_FAILED;
	}
	*count = n ? strtol(n, NULL, 10) : 0;
	return st;
}

/* A request that may write: the run's settle bookkeeping learns when it was sent. */
static FrappeStatus
frappe_send_write(RunContext *ctx, StepResult *r, const char *method, const char *path,
				  const char *body, JsonbContainer **root)
{
	ctx->create_sent = true;
	ctx->write_sent_at = GetCurrentTimestamp();
	return frappe_call(ctx, r, method, path, body, root);
}

FrappeStatus
frappe_write(RunContext *ctx, StepResult *r, const char *method, const char *path,
		  const char *body, JsonbContainer **doc)
{
	JsonbContainer *root;
	FrappeStatus	st = frappe_send_write(ctx, r, method, path, body, &root);

	/* /api/resource answers {"data": doc}, /api/method {"message": doc} */
	if (doc)
		*doc = (st == FRAPPE_OK) ? (jb_object(root, "data") ? jb_object(root, "data") : jb_object(root, "message")) : NULL;
	return st;
}

/* The target's document (or row), or NULL in *doc when the engine does not hold it. */
static FrappeStatus
frappe_lookup(RunContext *ctx, StepResult *r, const FrappeTarget *t, JsonbContainer **doc)
{
	FrappeStatus	st;
	JsonbContainer *parent;
	JsonbContainer *rows;

	*doc = NULL;
	if (t->filters)
		return frappe_find(ctx, r, t->doctype, t->filters, doc);
	st = frappe_get(ctx, r, t->parent ? t->parent : t->doctype, t->name, t->parent ? &parent : doc);
	if (st == FRAPPE_NOT_FOUND && t->parent == NULL)
		return FRAPPE_OK;
	if (st != FRAPPE_OK || t->parent == NULL)
		return st;
	rows = jb_array(parent, t->parent_field);
	for (int i = 0; i < jb_array_length(rows); i++)
	{
		JsonbContainer *row = jb_array_object(rows, i);
		char	   *value = jb_text(row, t->row_key);

		if (value && strcmp(value, t->row_value) == 0)
		{
			*doc = row;
			break;
		}
	}
	return FRAPPE_OK;
}

static char *
target_text(const FrappeTarget *t)
{
	if (t->parent)
		return psprintf("%s of %s %s with %s %s", t->doctype, t->parent, t->name, t->row_key, t->row_value);
	return psprintf("%s %s", t->doctype, t->name ? t->name : t->filters);
}

/* What frappe_create_once's lookup and create share */
typedef struct FrappeCreate
{
	const FrappeTarget *target;
	const char *path;
	const char *body;
	JsonbContainer **doc;
	bool		looked;			/* the target was looked up (or known absent) once */
} FrappeCreate;

static bool
frappe_create_lookup(RunContext *ctx, StepResult *r, void *arg, bool *found)
{
	FrappeCreate *c = (FrappeCreate *) arg;
	bool		known = c->target->known_absent && !c->looked;

	c->looked = true;
	/* only the first lookup: after a create, whatever it may have made is looked for */
	if (known)
	{
		*c->doc = NULL;
		*found = false;
		return true;
	}
	if (frappe_lookup(ctx, r, c->target, c->doc) != FRAPPE_OK)
		return false;
	*found = *c->doc != NULL;
	return true;
}

static CreateAnswer
frappe_create_post(RunContext *ctx, StepResult *r, void *arg)
{
	FrappeCreate *c = (FrappeCreate *) arg;

	switch (frappe_write(ctx, r, "POST", c->path, c->body, c->doc))
	{
		case FRAPPE_OK:
			if (*c->doc == NULL)
			{
				step_fail(r, FAIL_PERMANENT, "POST %s: the answer has no document", c->path);
				return CREATE_FAILED;
			}
			return CREATE_MADE;
		case FRAPPE_CONFLICT:
			return CREATE_CONFLICT;
		case FRAPPE_UNKNOWN:
			return CREATE_UNKNOWN;
		case FRAPPE_NOT_FOUND:
			step_fail(r, FAIL_PERMANENT, "POST %s: HTTP 404", c->path);
			return CREATE_FAILED;
		case FRAPPE_FAILED:
			break;
	}
	return CREATE_FAILED;
}

/*
 * Makes sure the target exists: looks it up, and creates it (POST body to path) only when
 * it is missing, never twice (create_once, run.c). A 409 means it appeared meanwhile.
 * *doc gets the document found or made.
 */
bool
frappe_create_once(RunContext *ctx, StepResult *r, const FrappeTarget *t, const char *path,
				const char *body, JsonbContainer **doc, bool *created)
{
	FrappeCreate arg = {.target = t,.path = path,.body = body,.doc = doc};
	CreateOnce	c = {.target = target_text(t),.request = psprintf("POST %s", path),
		.lookup = frappe_create_lookup,.create = frappe_create_post,.arg = &arg};

	return create_once(ctx, r, &c, created);
}

/* Makes sure doctype/name exists, created from body when missing. */
bool
frappe_ensure(RunContext *ctx, StepResult *r, const char *doctype, const char *name,
		   const char *body, bool *created, JsonbContainer **doc)
{
	FrappeTarget	t = {.doctype = doctype,.name = name};
	JsonbContainer *found;

	return frappe_create_once(ctx, r, &t, frappe_resource_path(doctype, NULL), body, doc ? doc : &found, created);
}

/*
 * Makes sure a document matching filters exists, created from body when none does, for
 * documents the engine names itself. *name gets the document's name.
 */
bool
frappe_find_or_insert(RunContext *ctx, StepResult *r, const char *doctype, const char *filters,
				   bool known_absent, const char *body, char **name, bool *created)
{
	FrappeTarget	t = {.doctype = doctype,.filters = filters,.known_absent = known_absent};
	JsonbContainer *doc;

	if (!frappe_create_once(ctx, r, &t, frappe_resource_path(doctype, NULL), body, &doc, created))
		return false;
	*name = jb_text(doc, "name");
	if (*name == NULL)
		step_fail(r, FAIL_PERMANENT, "the engine did not name the %s", doctype);
	return *name != NULL;
}


/* ---------------------------------------------------------------- several at once */

#define INSERT_MANY_PATH "/api/method/frappe.client.insert_many"
#define INSERT_MANY_LIMIT 200	/* Frappe refuses more in one request */

/* Which of the named documents the engine holds, in one request: found[i] for names[i]. */
FrappeStatus
frappe_names_exist(RunContext *ctx, StepResult *r, const char *doctype, int n,
				   const char *const *names, bool *found)
{
	JsonWriter	list,
				cond,
				filters;
	JsonbContainer *root;
	JsonbContainer *rows;
	FrappeStatus	st;

	jw_open(&list, '[');
	for (int i = 0; i < n; i++)
		jw_str(&list, NULL, names[i]);
	jw_close(&list, ']');
	jw_open(&cond, '[');
	jw_str(&cond, NULL, "name");
	jw_str(&cond, NULL, "in");
	jw_raw(&cond, NULL, list.buf.data);
	jw_close(&cond, ']');
	jw_open(&filters, '[');
	jw_raw(&filters, NULL, cond.buf.data);
	jw_close(&filters, ']');

	st = frappe_call(ctx, r, "GET",
					 psprintf("%s?fields=%s&filters=%s&limit_page_length=0",
							  frappe_resource_path(doctype, NULL), http_escape("[\"name\"]"),
							  http_escape(filters.buf.data)), NULL, &root);
	if (st != FRAPPE_OK)
		return st;
	if ((rows = jb_array(root, "data")) == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "GET %s: the answer has no list", frappe_resource_path(doctype, NULL));
		return FRAPPE_FAILED;
	}
	for (int i = 0; i < n; i++)
	{
		found[i] = false;
		for (int j = 0; j < jb_array_length(rows) && !found[i]; j++)
		{
			char	   *name = jb_text(jb_array_object(rows, j), "name");

			found[i] = name != NULL && strcmp(name, names[i]) == 0;
		}
	}
	return FRAPPE_OK;
}

static int
batch_missing(const FrappeBatch *b)
{
	int			missing = 0;

	for (int i = 0; i < b->n; i++)
		missing += !b->found[i];
	return missing;
}

static bool
batch_lookup(RunContext *ctx, StepResult *r, void *arg, bool *found)
{
	FrappeBatch *b = (FrappeBatch *) arg;

	/* the caller's answer serves once: after a create, whatever it may have made is looked for */
	if (b->known)
		b->known = false;
	else if (frappe_names_exist(ctx, r, b->doctype, b->n, b->names, b->found) != FRAPPE_OK)
		return false;
	*found = batch_missing(b) == 0;
	return true;
}

/*
 * One insert_many of the missing documents. It is one transaction: a conflict (one of them
 * appeared meanwhile) rolled all of them back, so the rest are looked up and sent again as
 * long as each conflict leaves fewer missing; else create_once looks once more and decides.
 */
static CreateAnswer
batch_insert(RunContext *ctx, StepResult *r, void *arg)
{
	FrappeBatch *b = (FrappeBatch *) arg;

	for (;;)
	{
		int			missing = batch_missing(b);
		JsonWriter	docs,
					body;
		JsonbContainer *root;
		bool		found;

		jw_open(&docs, '[');
		for (int i = 0; i < b->n; i++)
			if (!b->found[i])
				jw_raw(&docs, NULL, b->docs[i]);
		jw_close(&docs, ']');
		jw_open(&body, '{');
		jw_raw(&body, "docs", docs.buf.data);
		jw_close(&body, '}');
		switch (frappe_send_write(ctx, r, "POST", INSERT_MANY_PATH, body.buf.data, &root))
		{
			case FRAPPE_OK:
				if (jb_array_length(jb_array(root, "message")) != missing)
				{
					step_fail(r, FAIL_PERMANENT, "POST %s: the answer does not name the %d new %s documents",
							  INSERT_MANY_PATH, missing, b->doctype);
					return CREATE_FAILED;
				}
				b->made += missing;
				for (int i = 0; i < b->n; i++)
					b->found[i] = true;
				return CREATE_MADE;
			case FRAPPE_CONFLICT:
				if (!batch_lookup(ctx, r, b, &found))
					return CREATE_FAILED;
				if (found || batch_missing(b) >= missing)
					return CREATE_CONFLICT;
				continue;
			case FRAPPE_UNKNOWN:
				return CREATE_UNKNOWN;
			case FRAPPE_NOT_FOUND:
				step_fail(r, FAIL_PERMANENT, "POST %s: HTTP 404", INSERT_MANY_PATH);
				return CREATE_FAILED;
			case FRAPPE_FAILED:
				return CREATE_FAILED;
		}
	}
}

/*
 * Makes sure every document of the batch exists: one lookup, one insert_many of the
 * missing ones, never sent again while an earlier one may still be applied (create_once).
 */
bool
frappe_ensure_many(RunContext *ctx, StepResult *r, FrappeBatch *b)
{
	StringInfoData target;
	CreateOnce	c = {.request = "POST " INSERT_MANY_PATH,.lookup = batch_lookup,.create = batch_insert,.arg = b};
	bool		created;

	Assert(b->n <= INSERT_MANY_LIMIT);
	/* every name, not only the missing: the settle bookkeeping knows the batch by it */
	initStringInfo(&target);
	appendStringInfo(&target, "%s ", b->doctype);
	for (int i = 0; i < b->n; i++)
		appendStringInfo(&target, "%s%s", i > 0 ? ", " : "", b->names[i]);
	c.target = target.data;
	b->made = 0;
	return create_once(ctx, r, &c, &created);
}

/* A filters list of [field, "=", value] conditions from field/value pairs. */
char *
frappe_equal_filters(int n, const char *const *pairs)
{
	JsonWriter	w;

	jw_open(&w, '[');
	for (int i = 0; i < n; i++)
	{
		JsonWriter	cond;

		jw_open(&cond, '[');
		jw_str(&cond, NULL, pairs[2 * i]);
		jw_str(&cond, NULL, "=");
		jw_str(&cond, NULL, pairs[2 * i + 1]);
		jw_close(&cond, ']');
		jw_raw(&w, NULL, cond.buf.data);
	}
	jw_close(&w, ']');
	return w.buf.data;
}
