/*
 * odoo_rpc.c
 *     A client of Odoo's external API: JSON-RPC over POST /jsonrpc (Odoo 16 to 18), the
 *     error envelope, and the read-before-create helpers every Odoo step uses.
 *
 * Odoo answers its errors with HTTP 200 and {"error": {"data": {"name", "message"}}}: the
 * exception's class decides the failure. The API key travels in every execute_kw body, so
 * a body is never put into a message and is wiped once sent.
 */
#include "postgres.h"

#include "utils/json.h"

#include "driver.h"
#include "json.h"
#include "odoo_rpc.h"
#include "provisioning.h"

char *
odoo_quote(const char *text)
{
	StringInfoData out;

	initStringInfo(&out);
	escape_json(&out, text ? text : "");
	return out.data;
}

/*
 * The JSON-RPC envelope. args (a JSON list) may hold the API key: the buffer is sized up
 * front so that it is not reallocated, which would leave a copy of the key behind.
 */
char *
odoo_envelope(int id, const char *service, const char *method, const char *args)
{
	StringInfoData out;

	initStringInfo(&out);
	enlargeStringInfo(&out, strlen(args) + strlen(service) + strlen(method) + 128);
	appendStringInfo(&out, "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"id\":%d,"
					 "\"params\":{\"service\":\"%s\",\"method\":\"%s\",\"args\":%s}}",
					 id, service, method, args);
	return out.data;
}

/* "UserError: message" from the error envelope's data (the class without its module). */
static char *
error_text(JsonbContainer *error, char **name)
{
	JsonbContainer *data = jb_object(error, "data");
	char	   *full = data ? jb_text(data, "name") : NULL;
	char	   *message = data ? jb_text(data, "message") : NULL;
	const char *dot;

	if (message == NULL)
		message = jb_text(error, "message");
	*name = full ? full : pstrdup("error");
	dot = strrchr(*name, '.');
	return psprintf("%s: %s", dot ? dot + 1 : *name, message ? message : "(no message)");
}

/*
 * One call. Reads that fail transiently are sent again right here, up to
 * provisioning.http_retries times; a write is not, because the engine may have applied it:
 * its step is retried instead, and reads first. *answer is the response object (its
 * "result" may be absent: Odoo's methods returning None answer with neither result nor
 * error). what names the call in messages.
 */
OdooStatus
odoo_rpc(StepContext *ctx, StepResult *r, bool write, const char *what, const char *service,
		 const char *method, const char *args, JsonbContainer **answer)
{
	OdooSession *s = (OdooSession *) ctx->engine_session;
	HttpResponse resp = {0};
	char	   *body = odoo_envelope(++s->next_id, service, method, args);
	Jsonb	   *json;
	JsonbContainer *error;
	char	   *name;
	char	   *text;

	*answer = NULL;
	if (write)
	{
		sending_write(ctx);
		http_request(&ctx->http, "POST", s->url, body, &resp);
	}
	else
	{
		http_post_read(&ctx->http, s->url, body, &resp);
		for (int attempt = 1; attempt <= prov_http_retries && resp.outcome == HTTP_TRANSIENT; attempt++)
		{
			backoff_sleep(attempt, resp.retry_after_s);
			http_post_read(&ctx->http, s->url, body, &resp);
		}
	}
	explicit_bzero(body, strlen(body));
	pfree(body);

	switch (resp.outcome)
	{
		case HTTP_OK:
			json = jb_parse(resp.body.data, resp.body.len);
			/* an unreadable answer to a write leaves its fate unknown */
			if (json == NULL || !JsonContainerIsObject(&json->root))
			{
				step_malformed(r, what, psprintf("HTTP %ld with no JSON object", resp.status));
				return write ? ODOO_UNKNOWN : ODOO_FAILED;
			}
			error = jb_object(&json->root, "error");
			if (error == NULL && jb_has(&json->root, "error"))
			{
				step_malformed(r, what, "its error is not an object");
				return write ? ODOO_UNKNOWN : ODOO_FAILED;
			}
			if (error == NULL)
			{
				*answer = &json->root;
				return ODOO_OK;
			}
			text = error_text(error, &name);
			if (strcmp(name, "odoo.exceptions.AccessDenied") == 0)
				step_fail(r, FAIL_PERMANENT, "the engine refused the login or API key: %s: %s", what, text);
			else
				step_fail(r, FAIL_PERMANENT, "%s: %s", what, text);
			return ODOO_FAILED;
		case HTTP_UNAUTHORIZED:
			step_fail(r, FAIL_PERMANENT, "the engine refused the request: %s: HTTP %ld", what, resp.status);
			return ODOO_FAILED;
		case HTTP_NOT_FOUND:
			step_fail(r, FAIL_PERMANENT, "%s: HTTP 404: the engine has no /jsonrpc; is this Odoo?", what);
			return ODOO_FAILED;
		case HTTP_CONFLICT:
		case HTTP_REJECTED:
			step_fail(r, FAIL_PERMANENT, "%s: %s", what,
					  resp.status ? psprintf("HTTP %ld", resp.status) : resp.error);
			return ODOO_FAILED;
		case HTTP_TRANSIENT:
			step_fail(r, FAIL_TRANSIENT, "%s: %s", what,
					  resp.status ? psprintf("HTTP %ld", resp.status) : resp.error);
			r->retry_after_s = resp.retry_after_s;
			return (write && resp.outcome_unknown) ? ODOO_UNKNOWN : ODOO_FAILED;
		case HTTP_UNREACHABLE:
			step_fail(r, FAIL_OFFLINE, "the engine is offline: %s", resp.error);
			return ODOO_FAILED;
	}
	pg_unreachable();
}

/*
 * object.execute_kw model.method(*args, **kwargs) as the API user. kwargs (a JSON object,
 * or NULL) gets the context: the tenant's company once the user has access to it, so
 * records land in it and multi-company databases answer for it; with archived, also
 * active_test false, so that searches find archived records too (a lifecycle step's reads:
 * an archived record is still the tenant's, and a missing one is told from an archived one).
 */
static OdooStatus
execute_kw(StepContext *ctx, StepResult *r, bool write, bool archived, const char *model,
		   const char *method, const char *args, const char *kwargs, JsonbContainer **answer)
{
	OdooSession *s = (OdooSession *) ctx->engine_session;
	const char *secret = ctx->engine.api_secret ? ctx->engine.api_secret : "";
	bool		context = s->company != 0 || archived;
	StringInfoData kw;
	StringInfoData call;
	OdooStatus	st;

	initStringInfo(&kw);
	appendStringInfoChar(&kw, '{');
	if (context)
	{
		appendStringInfoString(&kw, "\"context\":{");
		if (s->company != 0)
			appendStringInfo(&kw, "\"allowed_company_ids\":[%ld]%s", s->company, archived ? "," : "");
		if (archived)
			appendStringInfoString(&kw, "\"active_test\":false");
		appendStringInfoChar(&kw, '}');
	}
	if (kwargs != NULL && strcmp(kwargs, "{}") != 0)
		appendStringInfo(&kw, "%s%s", context ? "," : "", kwargs + 1);
	else
		appendStringInfoChar(&kw, '}');

	/* sized up front: the key is not left behind in a reallocated buffer */
	initStringInfo(&call);
	enlargeStringInfo(&call, 2 * (strlen(s->database) + strlen(secret)) +
					  strlen(model) + strlen(method) + strlen(args) + kw.len + 64);
	appendStringInfoChar(&call, '[');
	escape_json(&call, s->database);
	appendStringInfo(&call, ",%ld,", s->uid);
	escape_json(&call, secret);
	appendStringInfoChar(&call, ',');
	escape_json(&call, model);
	appendStringInfoChar(&call, ',');
	escape_json(&call, method);
	appendStringInfo(&call, ",%s,%s]", args, kw.data);

	st = odoo_rpc(ctx, r, write, psprintf("%s %s", model, method), "object", "execute_kw",
				  call.data, answer);
	explicit_bzero(call.data, call.len);
	pfree(call.data);
	return st;
}

OdooStatus
odoo_execute(StepContext *ctx, StepResult *r, bool write, const char *model, const char *method,
			 const char *args, const char *kwargs, JsonbContainer **answer)
{
	return execute_kw(ctx, r, write, false, model, method, args, kwargs, answer);
}

/* The call's failure for an answer that is not what model.method answers. */
bool
odoo_malformed(StepResult *r, const char *model, const char *method, const char *what)
{
	return step_malformed(r, psprintf("%s %s", model, method), what);
}

/* The answer's result: a list of records, each with its id; NULL after a failure. */
static JsonbContainer *
record_list(StepResult *r, JsonbContainer *answer, const char *model, const char *method)
{
	JsonbContainer *rows = jb_array(answer, "result");
	long		id;

	if (rows == NULL)
	{
		odoo_malformed(r, model, method, "the result is not a list");
		return NULL;
	}
	for (int i = 0; i < jb_array_length(rows); i++)
		if (!jb_int(jb_array_object(rows, i), "id", &id) || id <= 0)
		{
			odoo_malformed(r, model, method, psprintf("record %d of the result has no id", i));
			return NULL;
		}
	return rows;
}

/* The first record matching domain, 0 for none. */
bool
odoo_search(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *id)
{
	JsonbContainer *answer;
	JsonbContainer *ids;

	*id = 0;
	if (odoo_execute(ctx, r, false, model, "search", psprintf("[%s]", domain), "{\"limit\":1}", &answer) != ODOO_OK)
		return false;
	/* garbage is no "none found": that would create the record again */
	if ((ids = jb_array(answer, "result")) == NULL)
		return odoo_malformed(r, model, "search", "the result is not a list");
	if (jb_array_length(ids) > 0 && (!jb_array_int(ids, 0, id) || *id <= 0))
		return odoo_malformed(r, model, "search", "the result is not a list of ids");
	return true;
}

static bool
count_records(StepContext *ctx, StepResult *r, bool archived, const char *model, const char *domain, long *count)
{
	JsonbContainer *answer;

	if (execute_kw(ctx, r, false, archived, model, "search_count", psprintf("[%s]", domain), NULL,
				   &answer) != ODOO_OK)
		return false;
	if (!jb_int(answer, "result", count) || *count < 0)
		return odoo_malformed(r, model, "search_count", "the result is not a count");
	return true;
}

bool
odoo_count(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *n)
{
	return count_records(ctx, r, false, model, domain, n);
}

/* How many records match domain, archived ones included (what odoo_search_all pages through) */
bool
odoo_count_all(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *n)
{
	return count_records(ctx, r, true, model, domain, n);
}

/* The records matching domain, with fields (a JSON list), as an array; each has its id. */
bool
odoo_search_read(StepContext *ctx, StepResult *r, const char *model, const char *domain,
				 const char *fields, JsonbContainer **rows)
{
	JsonbContainer *answer;

	if (odoo_execute(ctx, r, false, model, "search_read", psprintf("[%s]", domain),
					 psprintf("{\"fields\":%s}", fields), &answer) != ODOO_OK)
		return false;
	return (*rows = record_list(r, answer, model, "search_read")) != NULL;
}

/*
 * The records matching domain, archived ones included, in id order: fields (a JSON list;
 * NULL for every field), from offset, at most limit of them (0: all). Each has its id.
 */
bool
odoo_search_all(StepContext *ctx, StepResult *r, const char *model, const char *domain,
				const char *fields, long offset, int limit, JsonbContainer **rows)
{
	JsonbContainer *answer;
	StringInfoData kw;

	initStringInfo(&kw);
	appendStringInfo(&kw, "{\"order\":\"id asc\",\"offset\":%ld", offset);
	if (fields != NULL)
		appendStringInfo(&kw, ",\"fields\":%s", fields);
	if (limit > 0)
		appendStringInfo(&kw, ",\"limit\":%d", limit);
	appendStringInfoChar(&kw, '}');
	if (execute_kw(ctx, r, false, true, model, "search_read", psprintf("[%s]", domain), kw.data,
				   &answer) != ODOO_OK)
		return false;
	return (*rows = record_list(r, answer, model, "search_read")) != NULL;
}

/*
 * One record by id, archived or not, with fields (a JSON list); NULL in *record when the
 * engine holds none (or hides it from the tenant's company): a lifecycle step's "missing".
 */
bool
odoo_read_any(StepContext *ctx, StepResult *r, const char *model, long id, const char *fields,
			  JsonbContainer **record)
{
	JsonbContainer *rows;

	*record = NULL;
	if (!odoo_search_all(ctx, r, model, psprintf("[[\"id\",\"=\",%ld]]", id), fields, 0, 1, &rows))
		return false;
	*record = jb_array_object(rows, 0);
	return true;
}

/* One record by id; a record the engine does not hold (or hides) is a failure. */
bool
odoo_read(StepContext *ctx, StepResult *r, const char *model, long id, const char *fields,
		  JsonbContainer **record)
{
	JsonbContainer *answer;
	JsonbContainer *rows;

	if (odoo_execute(ctx, r, false, model, "read", psprintf("[[%ld]]", id),
					 psprintf("{\"fields\":%s}", fields), &answer) != ODOO_OK)
		return false;
	if ((rows = record_list(r, answer, model, "read")) == NULL)
		return false;
	if ((*record = jb_array_object(rows, 0)) == NULL)
	{
		step_fail(r, FAIL_PERMANENT, "%s %ld does not exist in the engine", model, id);
		return false;
	}
	return true;
}

/* Writes values on one record: writing the same values again is harmless. */
bool
odoo_write(StepContext *ctx, StepResult *r, const char *model, long id, const char *values)
{
	JsonbContainer *answer;

	if (odoo_execute(ctx, r, true, model, "write", psprintf("[[%ld],%s]", id, values), NULL,
					 &answer) != ODOO_OK)
		return false;
	/* write answers true: anything else does not say it was applied */
	if (!jb_bool(answer, "result", false))
		return odoo_malformed(r, model, "write", "the result is not true");
	return true;
}

/*
 * (Un)archives records (ids, a JSON list) in one write, which goes through the model's own
 * write and its refusals (a warehouse with ongoing operations); the same write again after
 * a lost answer changes nothing.
 */
bool
odoo_set_active(StepContext *ctx, StepResult *r, const char *model, const char *ids, bool active)
{
	JsonbContainer *answer;

	if (odoo_execute(ctx, r, true, model, "write", psprintf("[%s,{\"active\":%s}]", ids, active ? "true" : "false"),
					 NULL, &answer) != ODOO_OK)
		return false;
	if (!jb_bool(answer, "result", false))
		return odoo_malformed(r, model, "write", "the result is not true");
	return true;
}

/*
 * A many2one field's id ([id, name] as read), or an integer field's value, in *id; 0 for
 * false (empty). False when the field holds neither.
 */
bool
odoo_id(JsonbContainer *record, const char *field, long *id)
{
	JsonbContainer *pair = jb_array(record, field);

	if (pair != NULL)
		return jb_array_int(pair, 0, id) && *id > 0;
	return (jb_int(record, field, id) && *id >= 0) || jb_false(record, field);
}

/* A record's active flag in *active; false when the field is not a boolean. */
bool
odoo_active(JsonbContainer *record, bool *active)
{
	*active = jb_bool(record, "active", false);
	return *active || jb_false(record, "active");
}

static bool
odoo_create_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
{
	OdooTarget *t = (OdooTarget *) arg;
	JsonbContainer *rows;

	if (t->fields == NULL)
	{
		if (!odoo_search(ctx, r, t->model, t->domain, &t->id))
			return false;
	}
	else
	{
		/* the first match, with the fields the step needs: no read after it */
		if (!odoo_search_read(ctx, r, t->model, t->domain, t->fields, &rows))
			return false;
		t->record = jb_array_object(rows, 0);
		/* a record of the list has its id (odoo_search_read) */
		t->id = 0;
		(void) jb_int(t->record, "id", &t->id);
	}
	*found = t->id != 0;
	return true;
}

/*
 * create answers the new id; a method that makes the record (open_ui, open_session_cb)
 * answers an action, and the record is looked up. Any other answer leaves the create's fate
 * unknown.
 */
static CreateAnswer
odoo_create_call(StepContext *ctx, StepResult *r, void *arg)
{
	OdooTarget *t = (OdooTarget *) arg;
	JsonbContainer *answer;
	char	   *action;
	bool		found;
	OdooStatus	st;

	if (t->method == NULL)
		st = odoo_execute(ctx, r, true, t->model, "create", psprintf("[%s]", t->values), NULL, &answer);
	else
		st = odoo_execute(ctx, r, true, t->method_model, t->method, t->method_args, NULL, &answer);
	if (st == ODOO_UNKNOWN)
		return CREATE_UNKNOWN;
	if (st != ODOO_OK)
		return CREATE_FAILED;
	if (t->method == NULL)
	{
		if (!jb_int(answer, "result", &t->id) || t->id <= 0)
		{
			odoo_malformed(r, t->model, "create", "the result is not the new record's id");
			return CREATE_UNKNOWN;
		}
		return CREATE_MADE;
	}
	if (!jb_str(jb_object(answer, "result"), "type", &action))
	{
		odoo_malformed(r, t->method_model, t->method, "the result is not an action");
		return CREATE_UNKNOWN;
	}
	if (!odoo_create_lookup(ctx, r, t, &found))
		return CREATE_FAILED;
	if (!found)
	{
		step_fail(r, FAIL_PERMANENT, "%s %s answered, yet no %s matching %s exists",
				  t->method ? t->method_model : t->model, t->method ? t->method : "create",
				  t->model, t->domain);
		return CREATE_FAILED;
	}
	return CREATE_MADE;
}

/* Makes sure a record matching t->domain exists, made at most once (create_once, step_context.c). */
bool
odoo_create_once(StepContext *ctx, StepResult *r, OdooTarget *t, bool *created)
{
	CreateOnce	c = {.target = psprintf("%s %s", t->model, t->domain),
		.request = psprintf("%s %s", t->method ? t->method_model : t->model, t->method ? t->method : "create"),
		.lookup = odoo_create_lookup,.create = odoo_create_call,.arg = t};

	return create_once(ctx, r, &c, created);
}

/* ---------------------------------------------------------------- several at once */

static int
batch_missing(const OdooBatch *b)
{
	int			missing = 0;

	for (int i = 0; i < b->n; i++)
		missing += b->ids[i] == 0;
	return missing;
}

static bool
batch_lookup(StepContext *ctx, StepResult *r, void *arg, bool *found)
{
	OdooBatch  *b = (OdooBatch *) arg;
	JsonWriter	names;
	JsonbContainer *rows;
	const char *shared = b->domain + 1;	/* the domain's conditions, without its '[' */

	/* the caller's answer serves once: after a create, whatever it may have made is looked for */
	if (b->known)
	{
		b->known = false;
		*found = batch_missing(b) == 0;
		return true;
	}
	jw_open(&names, '[');
	for (int i = 0; i < b->n; i++)
		jw_str(&names, NULL, b->names[i]);
	jw_close(&names, ']');
	if (!odoo_search_read(ctx, r, b->model,
						  psprintf("[[\"name\",\"in\",%s]%s%s", names.buf.data, *shared == ']' ? "" : ",", shared),
						  "[\"name\"]", &rows))
		return false;
	for (int i = 0; i < b->n; i++)
	{
		b->ids[i] = 0;
		for (int j = 0; j < jb_array_length(rows) && b->ids[i] == 0; j++)
		{
			JsonbContainer *row = jb_array_object(rows, j);
			char	   *name;

			if (!jb_str(row, "name", &name))
				return odoo_malformed(r, b->model, "search_read", psprintf("record %d of the result has no name", j));
			/* the row's id is there (odoo_search_read) */
			if (strcmp(name, b->names[i]) == 0)
				(void) jb_int(row, "id", &b->ids[i]);
		}
	}
	*found = batch_missing(b) == 0;
	return true;
}

/* One create of the missing records' values: its answer lists their ids in order. */
static CreateAnswer
batch_create(StepContext *ctx, StepResult *r, void *arg)
{
	OdooBatch  *b = (OdooBatch *) arg;
	JsonWriter	list;
	JsonbContainer *answer;
	JsonbContainer *ids;
	int			missing = batch_missing(b);
	int			k = 0;
	OdooStatus	st;

	jw_open(&list, '[');
	for (int i = 0; i < b->n; i++)
		if (b->ids[i] == 0)
			jw_raw(&list, NULL, b->values[i]);
	jw_close(&list, ']');
	st = odoo_execute(ctx, r, true, b->model, "create", psprintf("[%s]", list.buf.data), NULL, &answer);
	if (st == ODOO_UNKNOWN)
		return CREATE_UNKNOWN;
	if (st != ODOO_OK)
		return CREATE_FAILED;
	/* an answer that is not the new ids leaves the create's fate unknown */
	ids = jb_array(answer, "result");
	for (int i = 0; i < missing; i++)
	{
		long		id;

		if (jb_array_length(ids) != missing || !jb_array_int(ids, i, &id) || id <= 0)
		{
			odoo_malformed(r, b->model, "create", psprintf("the result does not list the %d new records' ids", missing));
			return CREATE_UNKNOWN;
		}
	}
	for (int i = 0; i < b->n; i++)
		if (b->ids[i] == 0)
			(void) jb_array_int(ids, k++, &b->ids[i]);
	b->made += missing;
	return CREATE_MADE;
}

/*
 * Makes sure every record of the batch exists: one lookup, one create of the missing
 * ones, never sent again while an earlier one may still be applied (create_once).
 */
bool
odoo_ensure_many(StepContext *ctx, StepResult *r, OdooBatch *b)
{
	StringInfoData target;
	CreateOnce	c = {.request = psprintf("%s create", b->model),.lookup = batch_lookup,.create = batch_create,.arg = b};
	bool		created;

	/* every name, not only the missing: the settle bookkeeping knows the batch by it */
	initStringInfo(&target);
	appendStringInfo(&target, "%s ", b->model);
	for (int i = 0; i < b->n; i++)
		appendStringInfo(&target, "%s%s", i > 0 ? ", " : "", b->names[i]);
	appendStringInfo(&target, " %s", b->domain);
	c.target = target.data;
	b->made = 0;
	return create_once(ctx, r, &c, &created);
}
