/*
 * frappe.c
 *     A client of Frappe's REST API (v1 paths), on which ERPNext runs: requests, the
 *     error envelope, and the read-before-create helpers every ERPNext step uses.
 */
#include "postgres.h"

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
frappe_call(StepContext *ctx, StepResult *r, const char *method, const char *path,
		 const char *body, JsonbContainer **root)
{
	HttpResponse resp = {0};
	char	   *url = psprintf("%s%s", ctx->engine.base_url, path);
	Jsonb	   *json;
	const char *what = strchr(path, '?') ? pnstrdup(path, strchr(path, '?') - path) : path;
	bool		write = strcmp(method, "GET") != 0;

	*root = NULL;
	http_request(&ctx->http, method, url, body, &resp);
	for (int attempt = 1; !write && attempt <= prov_http_retries &&
		 resp.outcome == HTTP_TRANSIENT; attempt++)
	{
		backoff_sleep(attempt, resp.retry_after_s);
		http_request(&ctx->http, method, url, body, &resp);
	}
	switch (resp.outcome)
	{
		case HTTP_OK:
			json = jb_parse(resp.body.data, resp.body.len);
			/* an unreadable answer to a write leaves its fate unknown */
			if (json == NULL || !JsonContainerIsObject(&json->root))
			{
				step_malformed(r, psprintf("%s %s", method, what),
							   psprintf("HTTP %ld with no JSON object", resp.status));
				return write ? FRAPPE_UNKNOWN : FRAPPE_FAILED;
			}
			/* Frappe never reports success with its error envelope */
			if (jb_has(&json->root, "exc_type") || jb_has(&json->root, "exc"))
			{
				step_malformed(r, psprintf("%s %s", method, what),
							   psprintf("an error: %s", error_reason(&resp)));
				return write ? FRAPPE_UNKNOWN : FRAPPE_FAILED;
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
			return (write && resp.outcome_unknown) ? FRAPPE_UNKNOWN : FRAPPE_FAILED;
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

/* Is doc a document, with its name? Every document the engine answers has one. */
static bool
is_document(JsonbContainer *doc)
{
	char	   *name;

	return jb_str(doc, "name", &name);
}

/* The answer's "data", a list of documents; NULL after a failure of the attempt. */
static JsonbContainer *
document_list(StepResult *r, JsonbContainer *root, const char *request)
{
	JsonbContainer *rows = jb_array(root, "data");

	if (rows == NULL)
	{
		step_malformed(r, request, "data is not a list");
		return NULL;
	}
	for (int i = 0; i < jb_array_length(rows); i++)
		if (!is_document(jb_array_object(rows, i)))
		{
			step_malformed(r, request, psprintf("data[%d] is not a document with a name", i));
			return NULL;
		}
	return rows;
}

/* Reads one document into *doc. */
FrappeStatus
frappe_get(StepContext *ctx, StepResult *r, const char *doctype, const char *name, JsonbContainer **doc)
{
	JsonbContainer *root;
	char	   *path = frappe_resource_path(doctype, name);
	FrappeStatus	st = frappe_call(ctx, r, "GET", path, NULL, &root);

	*doc = (st == FRAPPE_OK) ? jb_object(root, "data") : NULL;
	if (st == FRAPPE_OK && !is_document(*doc))
	{
		*doc = NULL;
		step_malformed(r, psprintf("GET %s", path), "data is not a document with a name");
		return FRAPPE_FAILED;
	}
	return st;
}

/*
 * A page of doctype's list: the documents matching filters (a JSON list), with the fields
 * asked for (a JSON list naming "name"), in order_by's order (NULL: the engine's), from row
 * start, at most limit of them: an answer with more is no such page. *rows: the page's rows,
 * each a document with its name.
 */
FrappeStatus
frappe_list(StepContext *ctx, StepResult *r, const char *doctype, const char *fields, const char *filters,
			const char *order_by, long start, int limit, JsonbContainer **rows)
{
	JsonbContainer *root;
	char	   *request = psprintf("GET %s", frappe_resource_path(doctype, NULL));
	StringInfoData path;
	FrappeStatus	st;

	initStringInfo(&path);
	appendStringInfo(&path, "%s?fields=%s&filters=%s", frappe_resource_path(doctype, NULL),
					 http_escape(fields), http_escape(filters));
	if (order_by != NULL)
		appendStringInfo(&path, "&order_by=%s", http_escape(order_by));
	if (start > 0)
		appendStringInfo(&path, "&limit_start=%ld", start);
	appendStringInfo(&path, "&limit_page_length=%d", limit);
	*rows = NULL;
	if ((st = frappe_call(ctx, r, "GET", path.data, NULL, &root)) != FRAPPE_OK)
		return st;
	/* garbage is no "none found": that would create the document again */
	if ((*rows = document_list(r, root, request)) == NULL)
		return FRAPPE_FAILED;
	if (jb_array_length(*rows) > limit)
	{
		step_malformed(r, request, psprintf("%d rows for a page of at most %d", jb_array_length(*rows), limit));
		*rows = NULL;
		return FRAPPE_FAILED;
	}
	return FRAPPE_OK;
}

/* The first document matching filters, with fields (NULL: its name only), or NULL in *row. */
FrappeStatus
frappe_find(StepContext *ctx, StepResult *r, const char *doctype, const char *fields, const char *filters,
			JsonbContainer **row)
{
	JsonbContainer *rows;
	FrappeStatus	st = frappe_list(ctx, r, doctype, fields ? fields : "[\"name\"]", filters, NULL, 0, 1, &rows);

	*row = st == FRAPPE_OK ? jb_array_object(rows, 0) : NULL;
	return st;
}

FrappeStatus
frappe_count(StepContext *ctx, StepResult *r, const char *doctype, const char *filters, long *count)
{
	JsonbContainer *root;
	char	   *path = psprintf("/api/method/frappe.client.get_count?doctype=%s&filters=%s",
								http_escape(doctype), http_escape(filters));
	FrappeStatus	st = frappe_call(ctx, r, "GET", path, NULL, &root);

	*count = 0;
	if (st == FRAPPE_OK && (!jb_int(root, "message", count) || *count < 0))
	{
		step_malformed(r, psprintf("get_count of %s", doctype), "message is not a count");
		return FRAPPE_FAILED;
	}
	return st;
}

/* A request that may write: the run's settle bookkeeping learns when it was sent. */
static FrappeStatus
frappe_send_write(StepContext *ctx, StepResult *r, const char *method, const char *path,
				  const char *body, JsonbContainer **root)
{
	sending_write(ctx);
	return frappe_call(ctx, r, method, path, body, root);
}

/* A write answered by the document written: an answer that is not one leaves its fate unknown. */
FrappeStatus
frappe_write(StepContext *ctx, StepResult *r, const char *method, const char *path,
		  const char *body, JsonbContainer **doc)
{
	JsonbContainer *root;
	JsonbContainer *written = NULL;
	FrappeStatus	st = frappe_send_write(ctx, r, method, path, body, &root);

	if (st == FRAPPE_OK)
	{
		/* /api/resource answers {"data": doc}, /api/method {"message": doc} */
		written = jb_object(root, "data") ? jb_object(root, "data") : jb_object(root, "message");
		if (!is_document(written))
		{
			step_malformed(r, psprintf("%s %s", method, path), "it is not the document written, with its name");
			written = NULL;
			st = FRAPPE_UNKNOWN;
		}
	}
	if (doc)
		*doc = written;
	return st;
}

/* The target's document (or row), or NULL in *doc when the engine does not hold it. */
static FrappeStatus
frappe_lookup(StepContext *ctx, StepResult *r, const FrappeTarget *t, JsonbContainer **doc)
{
	FrappeStatus	st;
	JsonbContainer *parent;
	JsonbContainer *rows;

	*doc = NULL;
	if (t->filters)
		return frappe_find(ctx, r, t->doctype, t->fields, t->filters, doc);
	st = frappe_get(ctx, r, t->parent ? t->parent : t->doctype, t->name, t->parent ? &parent : doc);
	if (st == FRAPPE_NOT_FOUND && t->parent == NULL)
		return FRAPPE_OK;
	if (st != FRAPPE_OK || t->parent == NULL)
		return st;
	if ((rows = jb_array(parent, t->parent_field)) == NULL)
	{
		step_malformed(r, psprintf("GET %s", frappe_resource_path(t->parent, t->name)),
					   psprintf("%s is not a list", t->parent_field));
		return FRAPPE_FAILED;
	}
	for (int i = 0; i < jb_array_length(rows); i++)
	{
		JsonbContainer *row = jb_array_object(rows, i);
		char	   *value;

		if (!jb_str(row, t->row_key, &value))
		{
			step_malformed(r, psprintf("GET %s", frappe_resource_path(t->parent, t->name)),
						   psprintf("%s[%d] has no %s", t->parent_field, i, t->row_key));
			return FRAPPE_FAILED;
		}
		if (strcmp(value, t->row_value) == 0)
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
frappe_create_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
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
frappe_create_post(StepContext *ctx, StepResult *r, void *arg)
{
	FrappeCreate *c = (FrappeCreate *) arg;

	switch (frappe_write(ctx, r, "POST", c->path, c->body, c->doc))
	{
		case FRAPPE_OK:
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
 * it is missing, never twice (create_once, step_context.c). A 409 means it appeared meanwhile.
 * *doc gets the document found or made.
 */
bool
frappe_create_once(StepContext *ctx, StepResult *r, const FrappeTarget *t, const char *path,
				const char *body, JsonbContainer **doc, bool *created)
{
	FrappeCreate arg = {.target = t,.path = path,.body = body,.doc = doc};
	CreateOnce	c = {.target = target_text(t),.request = psprintf("POST %s", path),
		.lookup = frappe_create_lookup,.create = frappe_create_post,.arg = &arg};

	return create_once(ctx, r, &c, created);
}

/* Makes sure doctype/name exists, created from body when missing. */
bool
frappe_ensure(StepContext *ctx, StepResult *r, const char *doctype, const char *name,
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
frappe_find_or_insert(StepContext *ctx, StepResult *r, const char *doctype, const char *filters,
				   bool known_absent, const char *body, char **name, bool *created)
{
	FrappeTarget	t = {.doctype = doctype,.filters = filters,.known_absent = known_absent};
	JsonbContainer *doc;

	if (!frappe_create_once(ctx, r, &t, frappe_resource_path(doctype, NULL), body, &doc, created))
		return false;
	/* found or made, it is a document with its name (frappe_find, frappe_create_post) */
	return jb_str(doc, "name", name);
}


/* ---------------------------------------------------------------- several at once */

#define INSERT_MANY_PATH "/api/method/frappe.client.insert_many"
#define INSERT_MANY_LIMIT 200	/* Frappe refuses more in one request */

/*
 * The named documents of doctype, in one request: rows[i] is names[i]'s row with the fields
 * asked for (a JSON list naming "name"), or NULL when the engine does not hold it. Names are
 * unique, so the engine owes at most n rows; the list asks for no more.
 */
FrappeStatus
frappe_read_names(StepContext *ctx, StepResult *r, const char *doctype, int n, const char *const *names,
				  const char *fields, JsonbContainer **rows)
{
	JsonbContainer *found;
	FrappeStatus	st;

	if ((st = frappe_list(ctx, r, doctype, fields, frappe_names_filter(n, names), NULL, 0, n, &found)) != FRAPPE_OK)
		return st;
	for (int i = 0; i < n; i++)
	{
		rows[i] = NULL;
		for (int j = 0; j < jb_array_length(found) && rows[i] == NULL; j++)
		{
			JsonbContainer *row = jb_array_object(found, j);
			char	   *name;

			if (jb_str(row, "name", &name) && strcmp(name, names[i]) == 0)
				rows[i] = row;
		}
	}
	return FRAPPE_OK;
}

/* Which of the named documents the engine holds, in one request: found[i] for names[i]. */
FrappeStatus
frappe_names_exist(StepContext *ctx, StepResult *r, const char *doctype, int n,
				   const char *const *names, bool *found)
{
	JsonbContainer **rows = palloc(sizeof(JsonbContainer *) * n);
	FrappeStatus	st = frappe_read_names(ctx, r, doctype, n, names, "[\"name\"]", rows);

	for (int i = 0; i < n && st == FRAPPE_OK; i++)
		found[i] = rows[i] != NULL;
	return st;
}

/*
 * Sets the fields of doctype/name that doc (its document or list row, as the step read it)
 * does not have as wanted, in one PUT, and appends "field set to value" for each to changed;
 * writes nothing when all are. Setting a field twice is harmless, so a lost answer needs no
 * settle: the step's next attempt reads again. A Check missing from doc reads 0 (Frappe
 * leaves out nulls).
 */
bool
frappe_set_fields(StepContext *ctx, StepResult *r, const char *doctype, const char *name,
				  JsonbContainer *doc, int n, const FrappeField *fields, StringInfo changed)
{
	JsonWriter	body;
	bool		any = false;

	jw_open(&body, '{');
	for (int i = 0; i < n; i++)
	{
		const FrappeField *f = &fields[i];
		char	   *have = jb_text(doc, f->field);

		if (have == NULL && f->check)
			have = "0";
		if (have != NULL && strcmp(have, f->value) == 0)
			continue;
		if (f->check)
			jw_int(&body, f->field, strtol(f->value, NULL, 10));
		else
			jw_str(&body, f->field, f->value);
		appendStringInfo(changed, "%s%s %s set to %s", changed->len ? ", " : "", name, f->field, f->value);
		any = true;
	}
	jw_close(&body, '}');
	if (!any)
		return true;
	return frappe_write(ctx, r, "PUT", frappe_resource_path(doctype, name), body.buf.data, NULL) == FRAPPE_OK;
}

static int
batch_missing(const FrappeBatch *b)
{
	int			missing = 0;

	for (int i = 0; i < b->n; i++)
		missing += !b->found[i];
	return missing;
}

/* Is list a list of n names? */
static bool
names_listed(JsonbContainer *list, int n)
{
	char	   *name;

	if (list == NULL || jb_array_length(list) != n)
		return false;
	for (int i = 0; i < n; i++)
		if (!jb_array_str(list, i, &name))
			return false;
	return true;
}

static bool
batch_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
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
batch_insert(StepContext *ctx, StepResult *r, void *arg)
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
				if (!names_listed(jb_array(root, "message"), missing))
				{
					step_malformed(r, "POST " INSERT_MANY_PATH,
								   psprintf("message does not name the %d new %s documents", missing, b->doctype));
					return CREATE_UNKNOWN;
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
frappe_ensure_many(StepContext *ctx, StepResult *r, FrappeBatch *b)
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

/* A filters list of one condition: the name is one of the n names */
char *
frappe_names_filter(int n, const char *const *names)
{
	JsonWriter	list,
				cond;

	jw_open(&list, '[');
	for (int i = 0; i < n; i++)
		jw_str(&list, NULL, names[i]);
	jw_close(&list, ']');
	jw_open(&cond, '[');
	jw_str(&cond, NULL, "name");
	jw_str(&cond, NULL, "in");
	jw_raw(&cond, NULL, list.buf.data);
	jw_close(&cond, ']');
	return psprintf("[%s]", cond.buf.data);
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
