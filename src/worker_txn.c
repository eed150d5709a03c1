/*
 * worker_txn.c
 *     Short transactions in background workers, with the full worker_spi ritual.
 *
 * Committing leaves CurrentMemoryContext in TopMemoryContext; the caller's context comes
 * back instead, or what a worker allocates after each commit would pile up there.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "provisioning.h"

static MemoryContext caller_cxt = NULL;
static TimestampTz txn_start;
static double txn_total_ms = 0;	/* this process's time in worker transactions */

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

void
worker_txn_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller_cxt);
	txn_total_ms += (GetCurrentTimestamp() - txn_start) / 1000.0;
}

/* Time this process spent in worker transactions, begin to commit: its bookkeeping. */
double
worker_txn_ms(void)
{
	return txn_total_ms;
}
