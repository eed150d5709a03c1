/*
 * step_pool.c
 *     The step workers as a pool, in shared memory: a slot per step worker (being started,
 *     executing a step, or idle and waiting to be handed the next one), so that a run worker
 *     hands a step to an idle step worker instead of starting a process.
 *
 * Accounting. provisioning.max_workers bounds the run workers; the step workers share the
 * background worker slots beyond those (max_worker_processes less the launcher and
 * max_workers run workers), and never more than max_workers runs could use at once,
 * max_workers * (max_parallel_steps - 1). So step workers, busy or idle, never take the slot
 * of a run worker the launcher may still start, and steps run at once also while runs wait
 * in the queue. (Other users of max_worker_processes, such as parallel query, are not
 * counted: a start that finds no slot is refused as before, and the step waits.)
 *
 * A slot's generation changes at each reservation and each hand-out: a run worker holds
 * (slot, generation) for each step it delegated, and what it does to the slot later (let go
 * of a start, stop the step as it exits) applies only while the slot still serves that step.
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "provisioning.h"
#include "run.h"

/* Slots: step workers at once, across all run workers */
#define STEP_POOL_SIZE 128

typedef enum SlotState
{
	SLOT_FREE,
	SLOT_STARTING,				/* reserved by a run worker; its process has not begun */
	SLOT_BUSY,					/* executing a step (or about to take it up) */
	SLOT_IDLE,					/* waiting on its latch for the next step */
	SLOT_HANDED					/* idle, and handed a step it has not taken up yet */
} SlotState;

typedef struct StepPoolSlot
{
	SlotState	state;
	uint32		generation;
	pid_t		pid;			/* the step worker's, once it began */
	Latch	   *latch;
	StepAssignment assignment;	/* the step handed (SLOT_HANDED) */
} StepPoolSlot;

typedef struct StepPool
{
	slock_t		mutex;
	StepPoolSlot slots[STEP_POOL_SIZE];
} StepPool;

static StepPool *pool = NULL;
static int	my_slot = -1;		/* this step worker's */

Size
step_pool_shmem_size(void)
{
	return MAXALIGN(sizeof(StepPool));
}

/* In the shmem startup hook, under AddinShmemInitLock */
void
step_pool_shmem_init(void)
{
	bool		found;

	pool = ShmemInitStruct("provisioning step pool", sizeof(StepPool), &found);
	if (!found)
	{
		memset(pool, 0, sizeof(StepPool));
		SpinLockInit(&pool->mutex);
	}
}

/* How many step workers may live at once (see the accounting above) */
static int
step_pool_budget(void)
{
	int			budget = prov_max_workers * (prov_max_parallel_steps - 1);

	budget = Min(budget, max_worker_processes - 1 - prov_max_workers);
	return Max(Min(budget, STEP_POOL_SIZE), 0);
}

/* Slots in use; under the mutex */
static int
slots_in_use(void)
{
	int			n = 0;

	for (int i = 0; i < STEP_POOL_SIZE; i++)
		n += pool->slots[i].state != SLOT_FREE;
	return n;
}

/*
 * Hands a step to an idle step worker and wakes it: no process start. False when none
 * waits; else ref tells which slot serves it.
 */
bool
step_pool_hand(const StepAssignment *assignment, StepPoolRef *ref)
{
	Latch	   *latch = NULL;

	SpinLockAcquire(&pool->mutex);
	/* the lowest slot first: the same few serve, and the others reach their idle time */
	for (int i = 0; i < STEP_POOL_SIZE && latch == NULL; i++)
	{
		StepPoolSlot *slot = &pool->slots[i];

		if (slot->state != SLOT_IDLE)
			continue;
		slot->state = SLOT_HANDED;
		slot->generation++;
		slot->assignment = *assignment;
		ref->slot = i;
		ref->generation = slot->generation;
		latch = slot->latch;
	}
	SpinLockRelease(&pool->mutex);
	if (latch != NULL)
		SetLatch(latch);
	return latch != NULL;
}

/*
 * Reserves a slot for a step worker about to be started; false when the pool is at its
 * budget. The process takes the slot over as it begins (step_pool_join).
 */
bool
step_pool_reserve(StepPoolRef *ref)
{
	bool		reserved = false;

	SpinLockAcquire(&pool->mutex);
	if (slots_in_use() < step_pool_budget())
		for (int i = 0; i < STEP_POOL_SIZE && !reserved; i++)
		{
			StepPoolSlot *slot = &pool->slots[i];

			if (slot->state != SLOT_FREE)
				continue;
			slot->state = SLOT_STARTING;
			slot->generation++;
			slot->pid = 0;
			slot->latch = NULL;
			ref->slot = i;
			ref->generation = slot->generation;
			reserved = true;
		}
	SpinLockRelease(&pool->mutex);
	return reserved;
}

/*
 * The run worker lets go of the step ref names: a start that has not begun is given up
 * (the process, should it begin still, finds its slot gone and exits), and true returned:
 * the caller cancels the start too. With stop (the run worker exits), a step handed but not
 * taken up is taken back, and a step worker executing it is terminated, so that the run's
 * next run worker never finds it still at the engine.
 */
bool
step_pool_let_go(const StepPoolRef *ref, bool stop)
{
	StepPoolSlot *slot = &pool->slots[ref->slot];
	pid_t		pid = 0;
	bool		not_begun = false;

	SpinLockAcquire(&pool->mutex);
	if (slot->generation == ref->generation)
	{
		if (slot->state == SLOT_STARTING)
		{
			slot->state = SLOT_FREE;
			not_begun = true;
		}
		else if (stop && slot->state == SLOT_HANDED)
			slot->state = SLOT_IDLE;
		else if (stop && slot->state == SLOT_BUSY)
			pid = slot->pid;
	}
	SpinLockRelease(&pool->mutex);
	if (pid != 0)
		(void) kill(pid, SIGTERM);
	return not_begun;
}

/*
 * A step worker that leaves gives up its slot (before_shmem_exit). Handed a step it did
 * not take up (it was terminated meanwhile), it detaches that step's queue, as it would
 * have after taking it up: the run worker learns it is gone and executes the step again.
 */
static void
step_pool_leave(int code, Datum arg)
{
	StepPoolSlot *slot;
	dsm_handle	untaken = DSM_HANDLE_INVALID;

	if (my_slot < 0)
		return;
	slot = &pool->slots[my_slot];
	SpinLockAcquire(&pool->mutex);
	if (slot->pid == MyProcPid)
	{
		if (slot->state == SLOT_HANDED)
			untaken = slot->assignment.queue;
		slot->state = SLOT_FREE;
	}
	SpinLockRelease(&pool->mutex);
	my_slot = -1;
	if (untaken != DSM_HANDLE_INVALID)
	{
		dsm_segment *segment = dsm_attach(untaken);

		if (segment != NULL)
		{
			shm_mq	   *mq = dsm_segment_address(segment);

			shm_mq_set_sender(mq, MyProc);
			shm_mq_detach(shm_mq_attach(mq, segment, NULL));
			dsm_detach(segment);
		}
	}
}

/*
 * A step worker begins: it takes over the slot its run worker reserved. False when the run
 * worker gave the start up meanwhile: the process is not needed.
 */
bool
step_pool_join(const StepPoolRef *ref)
{
	StepPoolSlot *slot = &pool->slots[ref->slot];
	bool		joined;

	SpinLockAcquire(&pool->mutex);
	joined = slot->state == SLOT_STARTING && slot->generation == ref->generation;
	if (joined)
	{
		slot->state = SLOT_BUSY;
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
	}
	SpinLockRelease(&pool->mutex);
	if (joined)
	{
		my_slot = ref->slot;
		before_shmem_exit(step_pool_leave, (Datum) 0);
	}
	return joined;
}

/*
 * This step worker finished its step and waits for the next one. False when the pool is
 * above its budget (the settings were lowered): it leaves instead, its slot given up.
 */
bool
step_pool_idle_begin(void)
{
	bool		stay;

	SpinLockAcquire(&pool->mutex);
	stay = slots_in_use() <= step_pool_budget();
	pool->slots[my_slot].state = stay ? SLOT_IDLE : SLOT_FREE;
	SpinLockRelease(&pool->mutex);
	if (!stay)
		my_slot = -1;
	return stay;
}

/*
 * Takes up the step handed to this idle step worker, if any (true; assignment filled).
 * Else, with leave, it gives up its slot in the same breath, so that nobody hands it a
 * step it would never take up.
 */
bool
step_pool_take(StepAssignment *assignment, bool leave)
{
	StepPoolSlot *slot = &pool->slots[my_slot];
	bool		handed;

	SpinLockAcquire(&pool->mutex);
	handed = slot->state == SLOT_HANDED;
	if (handed)
	{
		*assignment = slot->assignment;
		assignment->worker.slot = my_slot;
		assignment->worker.generation = slot->generation;
		slot->state = SLOT_BUSY;
	}
	else if (leave)
		slot->state = SLOT_FREE;
	SpinLockRelease(&pool->mutex);
	if (!handed && leave)
		my_slot = -1;
	return handed;
}
