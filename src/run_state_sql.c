/*
 * run_state_sql.c
 *     The state machine's rules (run_state.c) as SQL functions, so that the SQL that records
 *     and reports runs uses the same definitions as the workers: which step is done, the
 *     tenant status a run leaves, a run's progress.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "api.h"
#include "run_state.h"

PG_FUNCTION_INFO_V1(provisioning_step_is_done);
PG_FUNCTION_INFO_V1(provisioning_tenant_status_of_run);
PG_FUNCTION_INFO_V1(provisioning_progress);

/* provisioning._step_is_done(status text): completed, exists or skipped */
Datum
provisioning_step_is_done(PG_FUNCTION_ARGS)
{
	int			status = step_status_of_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	PG_RETURN_BOOL(status >= 0 && step_is_done((StepStatus) status));
}

/*
 * provisioning._tenant_status_of_run(run_status text, before text, operation text): before is
 * the tenant's status when the run was queued, operation its provisioning_type. NULL for a
 * status that is none.
 */
Datum
provisioning_tenant_status_of_run(PG_FUNCTION_ARGS)
{
	int			status = run_status_of_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	int			before = tenant_status_of_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	Operation	operation = operation_of_name(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	if (status < 0 || before < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(tenant_status_names[tenant_status_of_run((RunStatus) status,
																			  (TenantStatus) before,
																			  operation)]));
}

/* provisioning._progress(done bigint, total bigint, run_status text): percent, 100 once completed */
Datum
provisioning_progress(PG_FUNCTION_ARGS)
{
	int64		done = PG_GETARG_INT64(0);
	int64		total = PG_GETARG_INT64(1);
	int			status = run_status_of_name(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	PG_RETURN_INT32(run_progress((int) Min(Max(done, 0), INT_MAX), (int) Min(Max(total, 0), INT_MAX),
								 (RunStatus) status));
}
