/*
 * run.h
 *     What the files executing a run share among themselves: run_store.c, step_exec.c,
 *     step_worker.c, step_context.c, run_worker.c and run_events.c. Drivers see driver.h
 *     only: a RunContext's StepContext, never the RunContext around it.
 */
#ifndef PROVISIONING_RUN_H
#define PROVISIONING_RUN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "storage/dsm.h"
#include "utils/uuid.h"

#include "driver.h"
#include "run_state.h"

typedef struct RunContext
{
	MemoryContext cxt;			/* lives as long as the run */
	pg_uuid_t	run_id;
	char	   *tenant_id;
	char	   *engine_name;	/* NULL when the tenant has no engine */
	TimestampTz started_at;		/* when the run first started */
	double		queued_ms;		/* from queued to first started */
	int			first;			/* the step it starts (or resumes) at; -1: only its end is left */
	double		txn_ms_before;	/* worker_txn_ms() before the run was claimed */
	TimestampTz resumed_at;		/* when this execution resumed an interrupted one, or 0 */
	char	   *engine_kind;	/* NULL when the tenant has no engine */
	char	   *operation;		/* the run's provisioning_type: which catalog its steps are of */
	Operation	op;				/* what the state machine makes of it (operation_of_name) */
	const struct EngineDriver *driver;	/* engine_kind's, or NULL when there is none */
	StepContext step;			/* what the driver is given (step_context.c's run_of) */
	JsonbContainer *config;		/* the run's settings */
	List	   *metadata;		/* key, value, ...: references to what the engine holds */
	List	   *meta_written;	/* the keys set since the run (or step worker) last recorded */
	FailKind	error_kind;		/* why the first critical step failed, or FAIL_NONE */
	bool		cancel_requested;	/* provision_cancel asked for its end: nothing new starts */
	double		delegated_engine_ms;	/* engine time of the steps step workers executed */
	RunStep    *steps;
	int			nsteps;
	int			reachability_step;	/* the driver's (EngineDriver), an index; -1: none */
	int			current;		/* index of the step being executed */
	bool		create_sent;	/* this step sent a creating request */
	bool		session_open;	/* the driver's begin succeeded */
	struct shm_mq_handle *report;	/* a step worker's queue to its run worker, or NULL */
	TimestampTz write_sent_at;	/* when the last write was sent */

	/*
	 * A create that may still be applied by the engine: sent without an answer, or (a
	 * resumed run, whose earlier attempt may have left requests in the engine) any create
	 * at all, unsettled_target NULL. Zero unsettled_since: none.
	 */
	TimestampTz unsettled_since;
	char	   *unsettled_target;
	List	   *earlier_creates;	/* UnsettledCreate: the tenant's earlier runs' unanswered
									 * creates, still within write_settle_ms */
	TimestampTz settle_from;	/* the send that holds back the create settle_pause waits for */
} RunContext;

/* A create of an earlier run that got no answer (provisioning.unsettled_creates) */
typedef struct UnsettledCreate
{
	char	   *target;
	TimestampTz sent_at;
} UnsettledCreate;

/* A run's SQL I/O (run_store.c); NULL when the run finished or was cancelled meanwhile */
extern RunContext *run_begin(MemoryContext parent, const pg_uuid_t *run_id);
extern RunContext *run_describe(MemoryContext parent, const pg_uuid_t *run_id);
extern bool run_record(RunContext *ctx, int step, const char *status, int attempts,
					   const char *message, double duration_ms, int next,
					   const RunStatus *run_status, FailKind kind);
extern void run_record_retry(RunContext *ctx, int step, int attempts, const char *message);
extern void unsettled_create_store(RunContext *ctx, const char *target);
extern void run_forget(RunContext *ctx);

/* One step with its retries (step_exec.c): its duration in ms */
extern double execute_step(RunContext *ctx, int idx, StepResult *result);

/* A step worker's outcome of its step, as its run worker takes it in */
typedef struct StepReport
{
	StepResult	result;
	double		duration_ms;
} StepReport;

/* Which slot of the step workers' pool serves a delegated step, and for which hand-out */
typedef struct StepPoolRef
{
	int			slot;
	uint32		generation;
} StepPoolRef;

/* What a step worker is given: at its start (bgw_extra), or as it waits idle (step_pool.c) */
typedef struct StepAssignment
{
	pg_uuid_t	run_id;
	int			step;			/* index in the run's step list */
	bool		resumed;		/* left running by an interrupted execution */
	TimestampTz resumed_at;		/* the run's resume (RunContext.resumed_at) */
	dsm_handle	queue;			/* the segment holding the queue to the run worker */
	StepPoolRef worker;			/* the pool's slot serving it */
	bool		has_share;		/* the run worker's session: share holds it */
	char		share[ENGINE_SESSION_SHARE];
} StepAssignment;

/* The step workers' pool (step_pool.c) */
extern Size step_pool_shmem_size(void);
extern void step_pool_shmem_init(void);
extern bool step_pool_hand(const StepAssignment *assignment, StepPoolRef *ref);
extern bool step_pool_reserve(StepPoolRef *ref);
extern bool step_pool_let_go(const StepPoolRef *ref, bool stop);
extern bool step_pool_join(const StepPoolRef *ref);
extern bool step_pool_idle_begin(void);
extern bool step_pool_take(StepAssignment *assignment, bool leave);

/* Step workers (step_worker.c) */
extern bool step_worker_start(RunContext *ctx, int idx);
#define STEP_WORKER_GONE (-1)
#define STEP_WORKERS_QUIET (-2)
extern int	step_workers_take(RunContext *ctx, StepReport *report, bool wait);
extern void step_workers_stop(int code, Datum arg);
extern void step_workers_release(RunContext *ctx);
extern void step_worker_report_retry(RunContext *ctx, int idx, const char *message);

#endif							/* PROVISIONING_RUN_H */
