/*
 * odoo_rpc.h
 *     A client of Odoo's external API (JSON-RPC over POST /jsonrpc), for the Odoo driver.
 */
#ifndef PROVISIONING_ODOO_RPC_H
#define PROVISIONING_ODOO_RPC_H

#include "driver.h"

typedef enum OdooStatus
{
	ODOO_OK,
	ODOO_UNKNOWN,				/* a write was sent and no answer tells its fate */
	ODOO_FAILED					/* the result holds the failure */
} OdooStatus;

/* The driver's state for a run (StepContext.engine_session), filled in by its begin. */
typedef struct OdooSession
{
	char	   *url;			/* base_url/jsonrpc */
	char	   *database;
	long		uid;			/* common.authenticate's answer */
	int			version;		/* the server's major version: 16, 17, 18 ... */
	long		company;		/* allowed_company_ids of every call, once the user has access */
	int			next_id;		/* JSON-RPC request ids */
	/* what this execution of the run read or made (never persisted), 0 for unknown */
	long		company_partner;	/* the company's partner_id */
	long		pos_config;		/* the tenant's pos.config */
} OdooSession;

/* What odoo_create_once looks for (a search domain) and how it makes it. */
typedef struct OdooTarget
{
	const char *model;
	const char *domain;			/* JSON: finds it */
	const char *values;			/* JSON object: create's values */
	const char *method;			/* else: a method of method_model that makes it */
	const char *method_model;
	const char *method_args;
	const char *fields;			/* JSON list: fields the lookup reads too, or NULL */
	long		id;				/* out: the record found or made */
	JsonbContainer *record;		/* out: with fields, the record as the lookup read it */
} OdooTarget;

/*
 * Records of one model, told apart by name within a domain, that a step makes sure of
 * together: looked up in one search_read and the missing ones made in one create of a list
 * (one call, one transaction).
 */
typedef struct OdooBatch
{
	const char *model;
	const char *domain;			/* JSON list: the conditions every one of them meets */
	int			n;
	const char *const *names;
	const char *const *values;	/* each one's create values, a JSON object */
	long	   *ids;			/* out: each one's id, 0 while missing */
	bool		known;			/* ids[] answers the first lookup already (the caller's own
								 * read), which is then skipped */
	int			made;			/* out: how many this step's create made */
} OdooBatch;

extern char *odoo_envelope(int id, const char *service, const char *method, const char *args);
extern char *odoo_quote(const char *text);
extern OdooStatus odoo_rpc(StepContext *ctx, StepResult *r, bool write, const char *what,
						   const char *service, const char *method, const char *args,
						   JsonbContainer **answer);
extern OdooStatus odoo_execute(StepContext *ctx, StepResult *r, bool write, const char *model,
							   const char *method, const char *args, const char *kwargs,
							   JsonbContainer **answer);
extern bool odoo_search(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *id);
extern bool odoo_count(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *count);
extern bool odoo_search_read(StepContext *ctx, StepResult *r, const char *model, const char *domain,
							 const char *fields, JsonbContainer **rows);
/* archived records too: lifecycle reads */
extern bool odoo_count_all(StepContext *ctx, StepResult *r, const char *model, const char *domain, long *count);
extern bool odoo_search_all(StepContext *ctx, StepResult *r, const char *model, const char *domain,
							const char *fields, long offset, int limit, JsonbContainer **rows);
extern bool odoo_read_any(StepContext *ctx, StepResult *r, const char *model, long id, const char *fields,
						  JsonbContainer **record);
extern bool odoo_read(StepContext *ctx, StepResult *r, const char *model, long id, const char *fields,
					  JsonbContainer **record);
extern bool odoo_write(StepContext *ctx, StepResult *r, const char *model, long id, const char *values);
extern bool odoo_set_active(StepContext *ctx, StepResult *r, const char *model, const char *ids, bool active);
extern bool odoo_create_once(StepContext *ctx, StepResult *r, OdooTarget *t, bool *created);
extern bool odoo_ensure_many(StepContext *ctx, StepResult *r, OdooBatch *b);
extern bool odoo_id(JsonbContainer *record, const char *field, long *id);
extern bool odoo_active(JsonbContainer *record, bool *active);
extern bool odoo_malformed(StepResult *r, const char *model, const char *method, const char *what);

#endif							/* PROVISIONING_ODOO_RPC_H */
