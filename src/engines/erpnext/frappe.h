/*
 * frappe.h
 *     A client of Frappe's REST API, for the ERPNext driver.
 */
#ifndef PROVISIONING_FRAPPE_H
#define PROVISIONING_FRAPPE_H

#include "driver.h"

typedef enum FrappeStatus
{
	FRAPPE_OK,
	FRAPPE_NOT_FOUND,
	FRAPPE_CONFLICT,
	FRAPPE_UNKNOWN,				/* a write was sent and no answer tells its fate */
	FRAPPE_FAILED				/* the result holds the failure */
} FrappeStatus;

/* What frappe_create_once looks for before it creates: a document by name, or by filters. */
typedef struct FrappeTarget
{
	const char *doctype;
	const char *name;			/* the name we give it (a child row: its parent's), or NULL */
	const char *filters;		/* else: a filters list that finds it */
	const char *fields;			/* the fields its lookup by filters reads (NULL: its name) */
	const char *parent;			/* a child row: the parent's doctype, and how to find the row */
	const char *parent_field;
	const char *row_key;
	const char *row_value;
	bool		known_absent;	/* the run knows it does not exist: the first lookup is skipped */
} FrappeTarget;

/*
 * Documents of one doctype, named by us, that a step makes sure of together: looked up in
 * one request (a name "in" filter) and the missing ones created in one insert_many.
 */
typedef struct FrappeBatch
{
	const char *doctype;
	int			n;
	const char *const *names;	/* the names the engine gives them */
	const char *const *docs;	/* each one's JSON object, with its "doctype" */
	bool	   *found;			/* found[i]: the engine holds names[i] */
	bool		known;			/* found[] answers the first lookup already (the caller's own
								 * read, or what the run knows), which is then skipped */
	int			made;			/* out: how many this step's inserts made */
} FrappeBatch;

/* A field a step wants a document to have: its value as text, a Check's as "0" or "1". */
typedef struct FrappeField
{
	const char *field;
	const char *value;
	bool		check;
} FrappeField;

/*
 * One request to base_url + path. 404 and 409 are answers the caller interprets; any
 * other failure is classified into r. *root is the answer's JSON object.
 */
extern FrappeStatus frappe_call(StepContext *ctx, StepResult *r, const char *method, const char *path,
								const char *body, JsonbContainer **root);
extern char *frappe_resource_path(const char *doctype, const char *name);
extern FrappeStatus frappe_get(StepContext *ctx, StepResult *r, const char *doctype, const char *name,
							   JsonbContainer **doc);
extern FrappeStatus frappe_list(StepContext *ctx, StepResult *r, const char *doctype, const char *fields,
								const char *filters, const char *order_by, long start, int limit,
								JsonbContainer **rows);
extern FrappeStatus frappe_find(StepContext *ctx, StepResult *r, const char *doctype, const char *fields,
								const char *filters, JsonbContainer **row);
extern FrappeStatus frappe_count(StepContext *ctx, StepResult *r, const char *doctype, const char *filters,
								 long *count);
extern FrappeStatus frappe_write(StepContext *ctx, StepResult *r, const char *method, const char *path,
								 const char *body, JsonbContainer **doc);
extern bool frappe_create_once(StepContext *ctx, StepResult *r, const FrappeTarget *t, const char *path,
							   const char *body, JsonbContainer **doc, bool *created);
extern bool frappe_ensure(StepContext *ctx, StepResult *r, const char *doctype, const char *name,
						  const char *body, bool *created, JsonbContainer **doc);
extern bool frappe_find_or_insert(StepContext *ctx, StepResult *r, const char *doctype, const char *filters,
								  bool known_absent, const char *body, char **name, bool *created);
extern FrappeStatus frappe_read_names(StepContext *ctx, StepResult *r, const char *doctype, int n,
									  const char *const *names, const char *fields, JsonbContainer **rows);
extern FrappeStatus frappe_names_exist(StepContext *ctx, StepResult *r, const char *doctype, int n,
									   const char *const *names, bool *found);
extern bool frappe_ensure_many(StepContext *ctx, StepResult *r, FrappeBatch *b);
extern bool frappe_set_fields(StepContext *ctx, StepResult *r, const char *doctype, const char *name,
							  JsonbContainer *doc, int n, const FrappeField *fields, StringInfo changed);
/* A filters list of [field, "=", value] conditions from n field/value pairs. */
extern char *frappe_equal_filters(int n, const char *const *pairs);
extern char *frappe_names_filter(int n, const char *const *names);

#endif							/* PROVISIONING_FRAPPE_H */
