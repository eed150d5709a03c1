/*
 * status.c
 *     The names of the statuses in status.h, and provisioning._vocabulary() for SQL.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "api.h"
#include "json.h"
#include "status.h"

PG_FUNCTION_INFO_V1(provisioning_vocabulary);

const char *const run_status_names[] = {
	[RUN_PENDING] = "PENDING",
	[RUN_IN_PROGRESS] = "IN_PROGRESS",
	[RUN_COMPLETED] = "COMPLETED",
	[RUN_PARTIAL] = "PARTIAL",
	[RUN_FAILED] = "FAILED",
	[RUN_NOT_PROVISIONED] = "NOT_PROVISIONED",
	[RUN_CANCELLED] = "CANCELLED",
	NULL
};

const char *const step_status_names[] = {
	[STEP_PENDING] = "pending",
	[STEP_RUNNING] = "running",
	[STEP_COMPLETED] = "completed",
	[STEP_EXISTS] = "exists",
	[STEP_SKIPPED] = "skipped",
	[STEP_FAILED] = "failed",
	NULL
};

const char *const tenant_status_names[] = {
	[TENANT_NOT_PROVISIONED] = "NOT_PROVISIONED",
	[TENANT_PROVISIONING] = "PROVISIONING",
	[TENANT_PROVISIONED] = "PROVISIONED",
	[TENANT_PARTIAL] = "PARTIAL",
	[TENANT_FAILED] = "FAILED",
	[TENANT_SUSPENDED] = "SUSPENDED",
	[TENANT_OFFBOARDED] = "OFFBOARDED",
	NULL
};

const char *const operation_names[] = {
	[OPERATION_PROVISION] = NULL,
	[OPERATION_VERIFY] = "VERIFY",
	[OPERATION_SUSPEND] = "SUSPEND",
	[OPERATION_RESUME] = "RESUME",
	[OPERATION_OFFBOARD] = "OFFBOARD",
	NULL
};

const char *const fail_kind_names[] = {
	[FAIL_NONE] = NULL,
	[FAIL_TRANSIENT] = "transient",
	[FAIL_PERMANENT] = "permanent",
	[FAIL_OFFLINE] = "offline",
};

const char	step_retrying_name[] = "retrying";

static int
index_of_name(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
run_status_of_name(const char *name)
{
	return index_of_name(run_status_names, name);
}

int
step_status_of_name(const char *name)
{
	return index_of_name(step_status_names, name);
}

int
tenant_status_of_name(const char *name)
{
	return index_of_name(tenant_status_names, name);
}

Operation
operation_of_name(const char *name)
{
	for (int k = OPERATION_VERIFY; k <= OPERATION_OFFBOARD; k++)
		if (name != NULL && strcmp(name, operation_names[k]) == 0)
			return (Operation) k;
	return OPERATION_PROVISION;
}

FailKind
fail_kind_of_name(const char *name)
{
	for (int k = FAIL_TRANSIENT; k <= FAIL_OFFLINE; k++)
		if (name != NULL && strcmp(name, fail_kind_names[k]) == 0)
			return (FailKind) k;
	return FAIL_NONE;
}

static char *
names_json(const char *const *names)
{
	JsonWriter	w;

	jw_open(&w, '[');
	for (int i = 0; names[i]; i++)
		jw_str(&w, NULL, names[i]);
	jw_close(&w, ']');
	return w.buf.data;
}

/*
 * provisioning._vocabulary() returns jsonb: {"run": [...], "step": [...], "tenant": [...],
 * "operation": [the lifecycle operations]}
 */
Datum
provisioning_vocabulary(PG_FUNCTION_ARGS)
{
	JsonWriter	w;

	jw_open(&w, '{');
	jw_raw(&w, "run", names_json(run_status_names));
	jw_raw(&w, "step", names_json(step_status_names));
	jw_raw(&w, "tenant", names_json(tenant_status_names));
	jw_raw(&w, "operation", names_json(&operation_names[OPERATION_VERIFY]));
	jw_close(&w, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(w.buf.data)));
}
