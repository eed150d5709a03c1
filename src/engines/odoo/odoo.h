/*
 * odoo.h
 *     What the Odoo driver's files share (src/engines/odoo/ only): the session's and the
 *     run's small accessors, the tenant's company, and the step functions the catalog in
 *     odoo.c lists.
 */
#ifndef PROVISIONING_ODOO_H
#define PROVISIONING_ODOO_H

#include "driver.h"
#include "odoo_rpc.h"

static inline OdooSession *
session_of(StepContext *ctx)
{
	return (OdooSession *) ctx->engine_session;
}

static inline const char *
company_of(StepContext *ctx)
{
	return config_text(ctx, "company_name");
}

static inline long
meta_id(StepContext *ctx, const char *key)
{
	const char *v = meta_get(ctx, key);

	return v ? strtol(v, NULL, 10) : 0;
}

static inline void
meta_set_id(StepContext *ctx, const char *key, long id)
{
	meta_set(ctx, key, psprintf("%ld", id));
}

/* A step's function, as the catalog in odoo.c lists it (driver.h's StepFunction) */
typedef void OdooStep (StepContext *ctx, StepResult *r);

/* the company and its accounting (odoo_company.c) */
extern long odoo_company_id(StepContext *ctx, StepResult *r);
extern long odoo_recorded_company(StepContext *ctx, StepResult *r, bool may_link);
extern bool odoo_company_record(StepContext *ctx, StepResult *r, long cid, const char *fields,
								JsonbContainer **company);
extern char *odoo_accounts_domain(StepContext *ctx, long cid);
extern OdooStep odoo_step_company, odoo_step_chart_of_accounts, odoo_step_settings;
/* warehouses, products, the customer (odoo_master_data.c) */
typedef struct OdooDemoProduct
{
	const char *name;
	const char *price;			/* list_price, a JSON number */
} OdooDemoProduct;
extern const OdooDemoProduct odoo_demo_products[];
extern const int odoo_demo_product_count;
extern OdooStep odoo_step_warehouses, odoo_step_items, odoo_step_customer;
/* the point of sale (odoo_pos.c) */
extern OdooStep odoo_step_pos_profile, odoo_step_pos_session;
/* suspending, resuming, archiving (odoo_lifecycle.c) */
extern long odoo_recorded_config(StepContext *ctx, StepResult *r);
extern OdooStep odoo_step_close_session, odoo_step_disable_pos, odoo_step_enable_pos,
			odoo_step_reopen_session, odoo_step_archive;
/* the checks of a VERIFY run (odoo_verify.c) */
extern OdooStep odoo_verify_engine, odoo_verify_company, odoo_verify_chart, odoo_verify_warehouses, odoo_verify_settings,
			odoo_verify_items, odoo_verify_customer, odoo_verify_pos_config, odoo_verify_pos_session;
/* the offboarding's export (odoo_export.c) */
extern OdooStep odoo_step_export;

#endif							/* PROVISIONING_ODOO_H */
