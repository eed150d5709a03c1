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
	RUN_NOT_PROVISIONED,		/* the engine could not be reached at the start */
	RUN_CANCELLED				/* provision_cancel stopped it before its end */
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
	TENANT_FAILED,
	TENANT_SUSPENDED,			/* a SUSPEND run completed: the point of sale is closed */
	TENANT_OFFBOARDED			/* an OFFBOARD run completed: exported, the engine's side archived */
} TenantStatus;

/*
 * What a run does, as far as the state machine cares: provisioning (the operations
 * provision_start may name, FULL_POS and BASIC, which differ only by their catalogs' steps)
 * or one of the lifecycle operations of a provisioned tenant, whose names are fixed
 * (provisioning.operations, the rows whose provisions is false).
 */
typedef enum Operation
{
	OPERATION_PROVISION,
	OPERATION_VERIFY,			/* reads back what the provisioning made; writes nothing */
	OPERATION_SUSPEND,
	OPERATION_RESUME,
	OPERATION_OFFBOARD
} Operation;

/* Why a step failed: decides whether it is retried, and the run's final status. */
typedef enum FailKind
{
	FAIL_NONE,
	FAIL_TRANSIENT,				/* retried with backoff inside the step */
	FAIL_PERMANENT,				/* the engine refused; retrying would not help */
	FAIL_OFFLINE				/* the engine could not be reached */
} FailKind;

extern const char *const run_status_names[];
extern const char *const step_status_names[];
extern const char *const tenant_status_names[];
extern const char *const operation_names[];	/* the lifecycle ones; NULL for provisioning */
extern const char *const fail_kind_names[];	/* tenant_onboarding.error_kind; NULL for none */

/*
 * What a step boundary records for an attempt that failed and is retried: the step stays
 * running and its log row says "retrying" (_step_record's p_status). No step holds it.
 */
extern const char step_retrying_name[];

/* The status named name, or -1. */
extern int	run_status_of_name(const char *name);
extern int	step_status_of_name(const char *name);
extern int	tenant_status_of_name(const char *name);

/* The lifecycle operation named name; OPERATION_PROVISION for any other (FULL_POS, BASIC). */
extern Operation operation_of_name(const char *name);

/* The kind named name; FAIL_NONE for NULL or a name it does not know. */
extern FailKind fail_kind_of_name(const char *name);

#endif							/* PROVISIONING_STATUS_H */
