/*
 * provisioning.h
 *     Declarations shared by the provisioning extension's source files.
 */
#ifndef PROVISIONING_H
#define PROVISIONING_H

#include "postgres.h"

#include "executor/spi.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/uuid.h"

/* SQLSTATEs of the contract (spec section 6) */
#define ERRCODE_PROVISIONING_NOT_FOUND MAKE_SQLSTATE('P', 'T', '4', '0', '4')
#define ERRCODE_PROVISIONING_CONFLICT  MAKE_SQLSTATE('P', 'T', '4', '0', '9')

/* Settings (init.c) */
extern char *prov_database_name;
extern int	prov_max_workers;
extern int	prov_http_connect_timeout_ms;
extern int	prov_http_timeout_ms;
extern int	prov_http_retries;
extern int	prov_http_retry_delay_ms;
extern int	prov_max_response_size;	/* kB */
extern int	prov_health_cache_ttl;
extern int	prov_write_settle_ms;
extern int	prov_retry_after_max_s;
extern int	prov_max_parallel_steps;
extern bool prov_notify;
extern bool prov_test_engine_kinds;

#define MAX_RUN_WORKERS 64		/* provisioning.max_workers' upper bound */

/* State in shared memory (init.c) */
typedef struct ProvisioningShared
{
	slock_t		mutex;			/* protects launcher_latch and the idle workers */
	Latch	   *launcher_latch; /* NULL while no launcher runs */
	int			n_idle;			/* run workers waiting for work: */
	Latch	   *idle_latches[MAX_RUN_WORKERS];	/* their latches, the latest last */
	pg_atomic_uint32 live_workers;	/* run workers alive */
	LWLock	   *health_lock;	/* protects the health cache hash */
} ProvisioningShared;

extern ProvisioningShared *prov_shared;

extern bool prov_preloaded;
extern struct HTAB *prov_health_cache;

/* The run queue (queue.c) */
#define RELAUNCH_DELAY_MS 1000	/* an interrupted run waits this long after its last claim */
extern int	runnable_runs(pg_uuid_t *ids, int max, bool *held_back);
extern void wake_for_runs(int runs);

/* The session locks that make a run one run worker's, and its step workers known (locks.c) */
extern bool run_lock_try(const pg_uuid_t *run_id);
extern bool run_lock_available(const pg_uuid_t *run_id);
extern void run_lock_release(const pg_uuid_t *run_id);
extern void step_workers_lock_share(const pg_uuid_t *run_id);
extern void step_workers_lock_release(const pg_uuid_t *run_id);
extern bool step_workers_gone(const pg_uuid_t *run_id);
extern void step_workers_wait_gone(const pg_uuid_t *run_id);

/* The run workers' pool: live and idle ones (worker_pool.c) */
extern bool worker_idle_begin(void);
extern bool worker_idle_end(void);
extern int	idle_workers(void);
extern void worker_pool_join(void);
extern bool worker_pool_surplus(void);

/* What every worker shares (worker.c) */
struct BackgroundWorker;
extern void dynamic_worker_init(struct BackgroundWorker *worker, const char *function, const char *type);
extern void dynamic_worker_connect(Datum arg, const char *appname);
extern bool extension_ready(void);
extern void reload_if_pending(void);
extern void worker_wait(long ms);
extern void worker_sleep(long ms);

/* Worker transactions, the worker_spi ritual (worker_txn.c) */
extern void worker_txn_begin(const char *activity);
extern void worker_txn_commit(void);
extern void worker_txn_commit_flush_later(void);
extern void worker_flush_owed(void);
extern double worker_txn_ms(void);
extern SPIPlanPtr worker_plan(SPIPlanPtr *plan, const char *what, const char *query, int nargs,
							  Oid *types);

/* Entry points: only these (and the SQL-callable functions) leave the library */
extern PGDLLEXPORT void _PG_init(void);
extern PGDLLEXPORT void provisioning_launcher_main(Datum arg);
extern PGDLLEXPORT void provisioning_run_main(Datum arg);
extern PGDLLEXPORT void provisioning_step_main(Datum arg);

#endif							/* PROVISIONING_H */
