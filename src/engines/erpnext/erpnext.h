/*
 * erpnext.h
 *     What the ERPNext driver's files share (src/engines/erpnext/ only): the driver's
 *     session, small accessors, the company's facts, and the step functions the catalog in
 *     erpnext.c lists.
 */
#ifndef PROVISIONING_ERPNEXT_H
#define PROVISIONING_ERPNEXT_H

#include "driver.h"

#define WALK_IN_CUSTOMER "Walk-In Customer"

/* What this execution of the run knows (StepContext.engine_session); never persisted. */
typedef struct ErpnextSession
{
	bool		company_made;	/* the company step created the company, answered */
	bool		profile_made;	/* the POS profile step created the profile, answered */
} ErpnextSession;

static inline const char *
company_of(StepContext *ctx)
{
	return config_text(ctx, "company_name");
}

static inline ErpnextSession *
session_of(StepContext *ctx)
{
	return (ErpnextSession *) ctx->engine_session;
}

static inline char *
warehouse_name(const char *base, const char *abbr)
{
	return psprintf("%s - %s", base, abbr);
}

/* A step's function, as the catalog in erpnext.c lists it (driver.h's StepFunction) */
typedef void ErpnextStep (StepContext *ctx, StepResult *r);

/* the session's "known absent" fact; who the API key belongs to (erpnext.c) */
extern bool erpnext_known_absent(StepContext *ctx);
extern char *erpnext_logged_user(StepContext *ctx, StepResult *r);
/* the company and its accounting (erpnext_company.c) */
extern void erpnext_now_texts(char *date, size_t datelen, char *datetime, size_t dtlen, int *year);
extern void erpnext_remember_company(StepContext *ctx, JsonbContainer *company);
extern const char *erpnext_company_abbr(StepContext *ctx, StepResult *r);
extern ErpnextStep erpnext_step_fiscal_year, erpnext_step_company, erpnext_step_chart_of_accounts;
/* warehouses, settings, items, the customer (erpnext_master_data.c) */
extern int	erpnext_demo_item_codes(const char **codes);
extern ErpnextStep erpnext_step_warehouses, erpnext_step_settings, erpnext_step_items, erpnext_step_customer,
			erpnext_verify_settings;
/* the point of sale (erpnext_pos.c) */
extern char *erpnext_profile_warehouse(StepContext *ctx, const char *abbr);
extern ErpnextStep erpnext_step_pos_profile, erpnext_step_pos_session;
/* verifying what the provisioning recorded (erpnext_verify.c; the settings' in erpnext_master_data.c) */
extern ErpnextStep erpnext_verify_engine, erpnext_verify_fiscal_year, erpnext_verify_company,
			erpnext_verify_chart_of_accounts, erpnext_verify_warehouses, erpnext_verify_items,
			erpnext_verify_customer, erpnext_verify_pos_profile, erpnext_verify_pos_session;
/* suspending, offboarding and resuming (erpnext_lifecycle.c; the export in erpnext_export.c) */
extern ErpnextStep erpnext_step_close_session, erpnext_step_disable_pos, erpnext_step_export,
			erpnext_step_archive, erpnext_step_enable_pos, erpnext_step_reopen_session;

#endif							/* PROVISIONING_ERPNEXT_H */
