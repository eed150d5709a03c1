/*
 * status.h
 *     The vocabulary of runs, steps and tenants: one enum each, and the names the SQL side
 *     stores. provisioning._vocabulary() hands the same names to SQL, where a test holds
 *     them against the tables' check constraints.
 */
#ifndef PROVISIONING_STATUS_H
#define PROVISIONING_STATUS_H

typedef enum RunStatus
{
	RUN_PENDING,
	RUN_IN_PROGRESS,
	RUN_COMPLETED,
	RUN_PARTIAL,				/* a non-critical step failed */
	RUN_FAILED,					/* a critical step failed */
	RUN_NOT_PROVISIONED			/* the engine could not be reached at the start */
} RunStatus;

typedef enum StepStatus
{
	STEP_PENDING,
	STEP_RUNNING,
	STEP_COMPLETED,				/* made by this run */
	STEP_EXISTS,				/* found in the engine */
	STEP_SKIPPED,
	STEP_FAILED
} StepStatus;

typedef enum TenantStatus
{
	TENANT_NOT_PROVISIONED,
	TENANT_PROVISIONING,
	TENANT_PROVISIONED,
	TENANT_PARTIAL,
	TENANT_FAILED
} TenantStatus;

extern const char *const run_status_names[];
extern const char *const step_status_names[];
extern const char *const tenant_status_names[];

/* The step status named name, or -1. */
extern int	step_status_of_name(const char *name);

/* A step that needs no more work: completed, exists or skipped. */
#define STEP_IS_DONE(s) ((s) == STEP_COMPLETED || (s) == STEP_EXISTS || (s) == STEP_SKIPPED)

#endif							/* PROVISIONING_STATUS_H */
