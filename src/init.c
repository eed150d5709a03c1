/*
 * init.c
 *     Module load: settings, shared memory and the launcher's registration.
 *
 * The library must be preloaded: only then can it register the launcher and reserve
 * shared memory. Loaded any other way it still defines its settings, so the SQL
 * functions that need no worker keep working and the others can say what to set.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/hsearch.h"

#include "provisioning.h"
#include "engine_limits.h"
#include "engine_outage.h"
#include "health.h"
#include "run.h"
#include "run_events.h"
#include "run_state.h"

PG_MODULE_MAGIC;

char	   *prov_database_name = NULL;
int			prov_max_workers = 4;
int			prov_http_connect_timeout_ms = 3000;
int			prov_http_timeout_ms = 15000;
int			prov_http_retries = 3;
int			prov_http_retry_delay_ms = 500;
int			prov_max_response_size = 16 * 1024;
int			prov_health_cache_ttl = 30;
int			prov_write_settle_ms = 120000;
int			prov_retry_after_max_s = 60;
int			prov_max_parallel_steps = 4;
bool		prov_notify = true;
bool		prov_test_engine_kinds = false;

static bool prov_auto_start = true;
static int	prov_retry_max_attempts = 5;
static int	prov_retry_base_delay = 60;
static int	prov_retry_max_delay = 3600;
static int	prov_history_retention = 90 * 86400;
static int	prov_metrics_window = 86400;
static int	prov_stall_after = 600;

ProvisioningShared *prov_shared = NULL;
bool		prov_preloaded = false;
HTAB	   *prov_health_cache = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* A name PostgreSQL could connect to: said once, at the setting, not at every launch. */
static bool
check_database_name(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("provisioning.database_name must name a database (1 to %d bytes).",
							NAMEDATALEN - 1);
		return false;
	}
	return true;
}

/* Each run worker takes a background worker slot, and the launcher one more. */
static bool
check_max_workers(int *newval, void **extra, GucSource source)
{
	if (*newval >= max_worker_processes)
	{
		GUC_check_errdetail("max_worker_processes is %d: the launcher and %d run workers need %d slots.",
							max_worker_processes, *newval, *newval + 1);
		GUC_check_errhint("Raise max_worker_processes (a restart) or lower provisioning.max_workers.");
		return false;
	}
	return true;
}

static void
define_settings(void)
{
	DefineCustomStringVariable("provisioning.database_name",
							   "Database in which the provisioning workers run.",
							   NULL, &prov_database_name, "postgres",
							   PGC_POSTMASTER, 0, check_database_name, NULL, NULL);
	DefineCustomIntVariable("provisioning.max_workers",
							"Maximum number of provisioning runs executed at once.",
							"Each run uses one background worker slot (max_worker_processes). Step workers, "
							"shared by all runs, use the slots beyond the launcher's and these, at most "
							"max_workers * (provisioning.max_parallel_steps - 1); a step that finds none "
							"waits, or runs in the run's own worker.",
							&prov_max_workers, 4, 1, MAX_RUN_WORKERS,
							PGC_SIGHUP, 0, check_max_workers, NULL, NULL);
	DefineCustomIntVariable("provisioning.max_parallel_steps",
							"Maximum number of steps of one run executed at once.",
							"Steps that do not depend on each other run at the same time, each with its "
							"own requests to the run's engine; the run worker hands each step beyond its "
							"own to a step worker, which then waits idle for the next. 1 runs the steps one by one.",
							&prov_max_parallel_steps, 4, 1, MAX_PARALLEL_STEPS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("provisioning.auto_start",
							 "Starts provisioning when a tenant with an engine is inserted.",
							 NULL, &prov_auto_start, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.http_connect_timeout_ms",
							"Time allowed to connect to an engine.",
							NULL, &prov_http_connect_timeout_ms, 3000, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.http_timeout_ms",
							"Time allowed for one request to an engine, connecting included.",
							NULL, &prov_http_timeout_ms, 15000, 1, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.http_retries",
							"Retries of a step after a transient engine error.",
							"Timeouts, connection resets and 5xx are transient; a 429 pauses the engine first.",
							&prov_http_retries, 3, 0, 20,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.http_retry_delay_ms",
							"Base delay of the exponential backoff between step retries.",
							"Attempt n waits about delay * 2^(n-1), with jitter, or the engine's Retry-After.",
							&prov_http_retry_delay_ms, 500, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	/* at most half of what a StringInfo holds: the answer is copied once more to parse it */
	DefineCustomIntVariable("provisioning.max_response_size",
							"Largest engine answer read into memory.",
							"A larger answer fails the request's attempt; to a create it counts as unanswered.",
							&prov_max_response_size, 16 * 1024, 64, 512 * 1024,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.write_settle_ms",
							"How long a create that got no answer may still be applied by the engine.",
							"Until then it is looked for, not sent again; a resumed run creates nothing "
							"it does not find for this long. Set it to the engine's own request timeout.",
							&prov_write_settle_ms, 120000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.retry_after_max",
							"Longest wait an engine's Retry-After can impose before a retry.",
							NULL, &prov_retry_after_max_s, 60, 0, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.engine_probe_interval",
							"How often an engine known to be unreachable is probed.",
							"Until it answers, new runs for it end NOT_PROVISIONED without a request; "
							"the runs it turned away are queued again once it does.",
							&prov_engine_probe_interval_ms, 5000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.engine_outage_wait",
							"How long a run past its first step waits for its unreachable engine.",
							"The wait costs no step an attempt; after it, the step's retries go on as usual.",
							&prov_engine_outage_wait_ms, 300000, 0, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.health_cache_ttl",
							"How long engine_health() reuses an engine's last answer.",
							NULL, &prov_health_cache_ttl, 30, 0, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.retry_max_attempts",
							"Scheduled retries of a failed run before retry_due() gives up.",
							NULL, &prov_retry_max_attempts, 5, 0, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.retry_base_delay",
							"Delay before the first scheduled retry; it doubles with every attempt.",
							NULL, &prov_retry_base_delay, 60, 0, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.retry_max_delay",
							"Longest delay between scheduled retries.",
							NULL, &prov_retry_max_delay, 3600, 0, 7 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.history_retention",
							"How long finished runs and their log rows are kept; 0 keeps them all.",
							"A tenant's latest run is always kept. The launcher prunes every few minutes.",
							&prov_history_retention, 90 * 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomEnumVariable("provisioning.log_level",
							 "Level of the server log lines that tell each run's events.",
							 "debug1 to debug5 keep them out of a log at the default log_min_messages.",
							 &prov_log_level, LOG, run_event_log_levels,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("provisioning.notify",
							 "Sends NOTIFY provisioning for every committed change of a run.",
							 "Any role that can connect to the database can LISTEN to them, whatever its "
							 "grants. One setting for the server, so that every session and worker agrees.",
							 &prov_notify, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("provisioning.metrics_window",
							"How far back provisioning.metrics looks at finished runs.",
							NULL, &prov_metrics_window, 86400, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	/*
	 * Read by the status document only (SQL), so a session's own value changes nothing
	 * but what that session is shown: any role may set it.
	 */
	DefineCustomIntVariable("provisioning.stall_after",
							"How long a running step may go without progress before its run is shown stalled.",
							"Progress is the step's start or the start of its latest retry.",
							&prov_stall_after, 600, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	/*
	 * A test aid: drivers that declare themselves test-only (the engine boundary's proof)
	 * exist only while it is on. Postmaster-wide, so every process agrees on the kinds,
	 * and hidden, so a production server's settings never offer it.
	 */
	DefineCustomBoolVariable("provisioning.test_engine_kinds",
							 "Registers the test-only engine kinds (for the extension's own tests).",
							 NULL, &prov_test_engine_kinds, false,
							 PGC_POSTMASTER, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	MarkGUCPrefixReserved("provisioning");
}

static void
provisioning_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ProvisioningShared)) +
						   hash_estimate_size(HEALTH_CACHE_SIZE, sizeof(HealthEntry)) +
						   engine_limits_shmem_size() + engine_outage_shmem_size() +
						   step_pool_shmem_size());
	/* the health cache's lock, the engine limits' and the engine outages' */
	RequestNamedLWLockTranche("provisioning", 3);
}

static void
provisioning_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	prov_shared = ShmemInitStruct("provisioning", sizeof(ProvisioningShared), &found);
	if (!found)
	{
		SpinLockInit(&prov_shared->mutex);
		prov_shared->launcher_latch = NULL;
		prov_shared->n_idle = 0;
		pg_atomic_init_u32(&prov_shared->live_workers, 0);
		prov_shared->health_lock = &(GetNamedLWLockTranche("provisioning"))->lock;
	}
	info.keysize = sizeof(HealthKey);
	info.entrysize = sizeof(HealthEntry);
	prov_health_cache = ShmemInitHash("provisioning engine health", HEALTH_CACHE_SIZE,
									  HEALTH_CACHE_SIZE, &info, HASH_ELEM | HASH_BLOBS);
	engine_limits_shmem_init();
	engine_outage_shmem_init();
	step_pool_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

static void
register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "provisioning", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "provisioning_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "provisioning launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "provisioning launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	define_settings();

	if (!process_shared_preload_libraries_in_progress)
		return;

	prov_preloaded = true;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = provisioning_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = provisioning_shmem_startup;
	register_launcher();
}
