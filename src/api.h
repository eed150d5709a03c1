/*
 * api.h
 *     Checks shared by the SQL-callable C functions.
 */
#ifndef PROVISIONING_API_H
#define PROVISIONING_API_H

#include "fmgr.h"

/* The SQL-callable functions: with the worker entry points, all the library exports. */
extern PGDLLEXPORT Datum provisioning_wake(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_workers_serve_here(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_engine_health(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_vocabulary(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_log_run_queued(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_run_notify(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_driver_kinds(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_driver_catalog(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_workspace_url(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_step_is_done(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_tenant_status_of_run(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_progress(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_engine_paused(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum provisioning_engine_use(PG_FUNCTION_ARGS);

/* Errors out, saying what to set, unless the workers can run for this database. */
extern void require_workers(void);

#endif							/* PROVISIONING_API_H */
