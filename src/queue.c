/*
 * queue.c
 *     The run queue, shared by the launcher and the run workers: which runs are runnable,
 *     and the session lock that makes a run one worker's.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/lsyscache.h"

#include "provisioning.h"

/* A distinct advisory lock space, apart from pg_advisory_lock()'s 1 and 2 */
#define RUN_LOCK_SPACE 0x5052

static void
run_lock_tag(LOCKTAG *tag, const pg_uuid_t *run_id)
{
	uint32		k1,
				k2;

	memcpy(&k1, run_id->data, 4);
	memcpy(&k2, run_id->data + 4, 4);
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, k1, k2, RUN_LOCK_SPACE);
}

/*
 * Takes the run's session lock without waiting. With for_real false it only tests
 * whether the lock is free (the launcher's check for a worker holding the run).
 */
bool
run_lock_acquire(const pg_uuid_t *run_id, bool for_real)
{
	LOCKTAG		tag;

	run_lock_tag(&tag, run_id);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (!for_real)
		LockRelease(&tag, ExclusiveLock, true);
	return true;
}

void
run_lock_release(const pg_uuid_t *run_id)
{
	LOCKTAG		tag;

	run_lock_tag(&tag, run_id);
	LockRelease(&tag, ExclusiveLock, true);
}

/* Is the 1.1 schema installed in this database? (It may be absent, or at 1.0.) */
bool
extension_ready(void)
{
	Oid			nsp;

	if (!OidIsValid(get_extension_oid("provisioning", true)))
		return false;
	nsp = get_namespace_oid("provisioning", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("step_catalog", nsp));
}

/*
 * Up to max runnable runs (queued, or interrupted while running), oldest first, into
 * ids. Call inside a worker transaction.
 */
int
runnable_runs(pg_uuid_t *ids, int max)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(max)};
	int			n = 0;

	if (max <= 0 || !extension_ready())
		return 0;
	if (SPI_execute_with_args("SELECT id FROM provisioning.tenant_onboarding"
							  " WHERE status IN ('PENDING', 'IN_PROGRESS')"
							  " ORDER BY created_at LIMIT $1",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the provisioning queue");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		memcpy(&ids[n++], DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
			   sizeof(pg_uuid_t));
	}
	return n;
}
