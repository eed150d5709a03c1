/*
 * json.h
 *     Reading engine responses with PostgreSQL's jsonb, and writing request bodies.
 */
#ifndef PROVISIONING_JSON_H
#define PROVISIONING_JSON_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/* Parsing never throws: NULL means the text is not JSON jsonb accepts. */
extern Jsonb *jb_parse(const char *text, int len);

/* Lookups on an object; NULL when absent, null, or of another type. */
extern JsonbContainer *jb_object(JsonbContainer *container, const char *key);
extern JsonbContainer *jb_array(JsonbContainer *container, const char *key);
extern JsonbContainer *jb_object_copy(JsonbContainer *container, const char *key);
extern Jsonb *jb_object_jsonb(JsonbContainer *container, const char *key);
extern bool jb_has(JsonbContainer *container, const char *key);
extern int	jb_array_length(JsonbContainer *array);
extern JsonbContainer *jb_array_object(JsonbContainer *array, int index);
extern Jsonb *jb_array_object_copy(JsonbContainer *array, int index);

/*
 * Typed reads, for what an engine answers: true with the value in *out, false (and *out
 * zero or NULL) when the member or element is absent, null or of another type. An integer
 * is a JSON number without a fraction that fits a long.
 */
extern bool jb_int(JsonbContainer *container, const char *key, long *out);
extern bool jb_array_int(JsonbContainer *array, int index, long *out);
extern bool jb_str(JsonbContainer *container, const char *key, char **out);
extern bool jb_array_str(JsonbContainer *array, int index, char **out);
extern bool jb_false(JsonbContainer *container, const char *key);

/*
 * Any scalar as text (numbers and booleans too), NULL for anything else: for the run's own
 * documents, messages, and comparisons of values of either type.
 */
extern char *jb_text(JsonbContainer *container, const char *key);
extern char *jb_array_text(JsonbContainer *array, int index);
extern bool jb_bool(JsonbContainer *container, const char *key, bool missing);
extern List *jb_string_members(JsonbContainer *object);

/* Building JSON text: json_open, then members, then json_close. */
typedef struct JsonWriter
{
	StringInfoData buf;
	bool		first;
} JsonWriter;

extern void jw_open(JsonWriter *w, char bracket);
extern void jw_close(JsonWriter *w, char bracket);
extern void jw_key(JsonWriter *w, const char *key);
extern void jw_str(JsonWriter *w, const char *key, const char *value);
extern void jw_int(JsonWriter *w, const char *key, long value);
extern void jw_num(JsonWriter *w, const char *key, double value);
extern void jw_raw(JsonWriter *w, const char *key, const char *json);

#endif							/* PROVISIONING_JSON_H */
