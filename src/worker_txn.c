/*
 * worker_txn.c
 *     Short transactions in background workers, with the full worker_spi ritual.
 *
 * Committing leaves CurrentMemoryContext in TopMemoryContext; the caller's context comes
 * back instead, or what a worker allocates after each commit would pile up there.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "replication/syncrep.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "provisioning.h"

static MemoryContext caller_cxt = NULL;
static TimestampTz txn_start;
static double txn_total_ms = 0;	/* this process's time in worker transactions */
static XLogRecPtr flush_owed = InvalidXLogRecPtr;	/* committed, not yet known on disk */

void
worker_txn_begin(const char *activity)
{
	caller_cxt = CurrentMemoryContext;
	txn_start = GetCurrentTimestamp();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * Ends a worker transaction. With flush_later its commit does not wait for the WAL flush,
 * which is owed until worker_flush_owed: the run worker settles it while its next engine
 * request is on the way (http_sent_hook), so the disk and the engine work at once, and
 * always before an answer is acted on or the worker waits. Where the commit would wait for
 * a synchronous standby too, or synchronous_commit is off anyway, it commits as configured.
 */
static void
commit(bool flush_later)
{
	int			configured = synchronous_commit;

	if (configured < SYNCHRONOUS_COMMIT_LOCAL_FLUSH ||
		(SyncRepStandbyNames != NULL && SyncRepStandbyNames[0] != '\0'))
		flush_later = false;
	SPI_finish();
	PopActiveSnapshot();
	if (flush_later)
		synchronous_commit = SYNCHRONOUS_COMMIT_OFF;
	PG_TRY();
	{
		CommitTransactionCommand();
	}
	PG_FINALLY();
	{
		synchronous_commit = configured;
	}
	PG_END_TRY();
	if (flush_later && XactLastCommitEnd > flush_owed)
		flush_owed = XactLastCommitEnd;
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller_cxt);
	txn_total_ms += (GetCurrentTimestamp() - txn_start) / 1000.0;
}

void
worker_txn_commit(void)
{
	commit(false);
}

void
worker_txn_commit_flush_later(void)
{
	commit(true);
}

/* Makes this process's commits durable: what worker_txn_commit_flush_later left owed. */
void
worker_flush_owed(void)
{
	if (XLogRecPtrIsInvalid(flush_owed))
		return;
	XLogFlush(flush_owed);
	flush_owed = InvalidXLogRecPtr;
}

/*
 * A statement planned once per process and kept for its life (SPI_keepplan): prepared into
 * *plan at its first use. what names it when that fails.
 */
SPIPlanPtr
worker_plan(SPIPlanPtr *plan, const char *what, const char *query, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare(query, nargs, types);

		if (prepared == NULL || SPI_keepplan(prepared) != 0)
			elog(ERROR, "could not prepare %s: %s", what, SPI_result_code_string(SPI_result));
		*plan = prepared;
	}
	return *plan;
}

/* Time this process spent in worker transactions, begin to commit: its bookkeeping. */
double
worker_txn_ms(void)
{
	return txn_total_ms;
}
