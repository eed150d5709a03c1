/*
 * json.c
 *     Reading engine responses with PostgreSQL's jsonb, and writing request bodies.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "json.h"

/*
 * jsonb_in reports bad input with ereport; an engine's garbage must not end the
 * worker, so the error is caught and dropped here.
 */
Jsonb *
jb_parse(const char *text, int len)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *result = NULL;
	char	   *copy = pnstrdup(text, len);

	PG_TRY();
	{
		result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(copy)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		result = NULL;
	}
	PG_END_TRY();
	pfree(copy);
	return result;
}

static JsonbValue *
member(JsonbContainer *container, const char *key)
{
	if (container == NULL || !JsonContainerIsObject(container))
		return NULL;
	return getKeyJsonValueFromContainer(container, key, strlen(key), NULL);
}

static JsonbContainer *
as_container(JsonbValue *v, bool want_array)
{
	if (v == NULL || v->type != jbvBinary)
		return NULL;
	if (want_array ? !JsonContainerIsArray(v->val.binary.data)
		: !JsonContainerIsObject(v->val.binary.data))
		return NULL;
	return v->val.binary.data;
}

/* The index-th element, or NULL: also for a container that is no array. */
static JsonbValue *
element(JsonbContainer *array, int index)
{
	if (array == NULL || !JsonContainerIsArray(array))
		return NULL;
	return getIthJsonbValueFromContainer(array, index);
}

/* A number without a fraction that fits a long. */
static bool
as_int(JsonbValue *v, long *out)
{
	char	   *text;
	char	   *end;

	*out = 0;
	if (v == NULL || v->type != jbvNumeric)
		return false;
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	*out = strtol(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0)
	{
		*out = 0;
		return false;
	}
	return true;
}

static bool
as_str(JsonbValue *v, char **out)
{
	*out = (v != NULL && v->type == jbvString) ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
	return *out != NULL;
}

/* Strings as they are; numbers and booleans as their text; anything else NULL. */
static char *
as_text(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

JsonbContainer *
jb_object(JsonbContainer *container, const char *key)
{
	return as_container(member(container, key), false);
}

/*
 * An object member as a jsonb value of its own, in memory of its own, which outlives the
 * document it was read from: what can be stored as it is (an engine's document exported).
 */
Jsonb *
jb_object_jsonb(JsonbContainer *container, const char *key)
{
	JsonbValue *v = member(container, key);

	if (as_container(v, false) == NULL)
		return NULL;
	return JsonbValueToJsonb(v);
}

/* An object member in memory of its own, which outlives the document it was read from. */
JsonbContainer *
jb_object_copy(JsonbContainer *container, const char *key)
{
	Jsonb	   *copy = jb_object_jsonb(container, key);

	return copy ? &copy->root : NULL;
}

JsonbContainer *
jb_array(JsonbContainer *container, const char *key)
{
	return as_container(member(container, key), true);
}

/* Is the member there (null too)? */
bool
jb_has(JsonbContainer *container, const char *key)
{
	return member(container, key) != NULL;
}

bool
jb_int(JsonbContainer *container, const char *key, long *out)
{
	return as_int(member(container, key), out);
}

bool
jb_str(JsonbContainer *container, const char *key, char **out)
{
	return as_str(member(container, key), out);
}

/* Is the member false? (Some engines read an empty field as false.) */
bool
jb_false(JsonbContainer *container, const char *key)
{
	JsonbValue *v = member(container, key);

	return v != NULL && v->type == jbvBool && !v->val.boolean;
}

char *
jb_text(JsonbContainer *container, const char *key)
{
	return as_text(member(container, key));
}

bool
jb_bool(JsonbContainer *container, const char *key, bool missing)
{
	JsonbValue *v = member(container, key);

	return (v != NULL && v->type == jbvBool) ? v->val.boolean : missing;
}

int
jb_array_length(JsonbContainer *array)
{
	return array ? (int) JsonContainerSize(array) : 0;
}

JsonbContainer *
jb_array_object(JsonbContainer *array, int index)
{
	return as_container(element(array, index), false);
}

/* The index-th element, an object, as a document of its own (to be stored); NULL for none. */
Jsonb *
jb_array_object_copy(JsonbContainer *array, int index)
{
	JsonbValue *v = element(array, index);

	if (as_container(v, false) == NULL)
		return NULL;
	return JsonbValueToJsonb(v);
}

char *
jb_array_text(JsonbContainer *array, int index)
{
	return as_text(element(array, index));
}

bool
jb_array_int(JsonbContainer *array, int index, long *out)
{
	return as_int(element(array, index), out);
}

bool
jb_array_str(JsonbContainer *array, int index, char **out)
{
	return as_str(element(array, index), out);
}

/* An object's string members as a list of alternating keys and values. */
List *
jb_string_members(JsonbContainer *object)
{
	List	   *pairs = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	char	   *key = NULL;

	if (object == NULL || !JsonContainerIsObject(object))
		return NIL;
	it = JsonbIteratorInit(object);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (token == WJB_VALUE && key != NULL && v.type == jbvString)
			pairs = lappend(lappend(pairs, key), pnstrdup(v.val.string.val, v.val.string.len));
	}
	return pairs;
}

void
jw_open(JsonWriter *w, char bracket)
{
	initStringInfo(&w->buf);
	appendStringInfoChar(&w->buf, bracket);
	w->first = true;
}

void
jw_close(JsonWriter *w, char bracket)
{
	appendStringInfoChar(&w->buf, bracket);
	w->first = false;
}

/* Starts a member: the separator, and the key unless key is NULL (an array element). */
void
jw_key(JsonWriter *w, const char *key)
{
	if (!w->first)
		appendStringInfoChar(&w->buf, ',');
	w->first = false;
	if (key != NULL)
	{
		escape_json(&w->buf, key);
		appendStringInfoChar(&w->buf, ':');
	}
}

void
jw_str(JsonWriter *w, const char *key, const char *value)
{
	jw_key(w, key);
	if (value == NULL)
		appendStringInfoString(&w->buf, "null");
	else
		escape_json(&w->buf, value);
}

void
jw_int(JsonWriter *w, const char *key, long value)
{
	jw_key(w, key);
	appendStringInfo(&w->buf, "%ld", value);
}

void
jw_num(JsonWriter *w, const char *key, double value)
{
	jw_key(w, key);
	appendStringInfo(&w->buf, "%.3f", value);
}

void
jw_raw(JsonWriter *w, const char *key, const char *json)
{
	jw_key(w, key);
	appendStringInfoString(&w->buf, json);
}
