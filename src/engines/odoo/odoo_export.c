/*
 * odoo_export.c
 *     offboard_3_export on Odoo: every record of the tenant's company, of each model the
 *     provisioning made records of, and its point-of-sale sales (pos.order with its lines,
 *     pos.order.line, and payments, pos.payment), copied into provisioning.tenant_exports
 *     (reference/lifecycle-api.md, B3).
 *
 * Each model is read page by page with search_read in id order (offset, limit), archived
 * records too, every field as the engine reads it; each page is written whole by export_rows
 * in a transaction of its own, keyed by the record's id, so a crash or a failed attempt
 * resumes at the offset exported_count gives (a page written twice adds nothing). Once a
 * model is read to its end, its exported count must equal the engine's own search_count with
 * the same domain before the next model: fewer means records came meanwhile (the next attempt
 * reads on), more means records went (a person must look).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "driver.h"
#include "json.h"
#include "odoo.h"
#include "odoo_rpc.h"

/* Records per search_read: a page of whole records stays well within max_response_size */
#define EXPORT_PAGE 100

/* What is exported: a model, and how its records name their company */
typedef enum CompanyLink
{
	LINK_ID,					/* the company itself */
	LINK_ACCOUNTS,				/* company_id, or company_ids from 18 on (odoo_accounts_domain) */
	LINK_COMPANY_ID				/* company_id (related and stored on lines and payments) */
} CompanyLink;

static const struct
{
	const char *model;
	CompanyLink link;
}			export_kinds[] =
{
	{"res.company", LINK_ID},
	{"account.account", LINK_ACCOUNTS},
	{"account.journal", LINK_COMPANY_ID},
	{"stock.warehouse", LINK_COMPANY_ID},
	{"product.template", LINK_COMPANY_ID},
	{"res.partner", LINK_COMPANY_ID},
	{"pos.payment.method", LINK_COMPANY_ID},
	{"pos.config", LINK_COMPANY_ID},
	{"pos.session", LINK_COMPANY_ID},
	{"pos.order", LINK_COMPANY_ID},
	{"pos.order.line", LINK_COMPANY_ID},
	{"pos.payment", LINK_COMPANY_ID},
};

static char *
kind_domain(StepContext *ctx, CompanyLink link, long cid)
{
	switch (link)
	{
		case LINK_ID:
			return psprintf("[[\"id\",\"=\",%ld]]", cid);
		case LINK_ACCOUNTS:
			return odoo_accounts_domain(ctx, cid);
		case LINK_COMPANY_ID:
			return psprintf("[[\"company_id\",\"=\",%ld]]", cid);
	}
	pg_unreachable();
}

/*
 * One page from offset: its records in id order (each has its id: odoo_search_all), written
 * as they came. *n is how many; fewer than a page means the model is read to its end.
 */
static bool
export_page(StepContext *ctx, StepResult *r, const char *model, const char *domain, int64 offset,
			long *last_id, int *n)
{
	JsonbContainer *rows;
	const char **keys;
	Jsonb	  **docs;

	if (!odoo_search_all(ctx, r, model, domain, NULL, offset, EXPORT_PAGE, &rows))
		return false;
	if ((*n = jb_array_length(rows)) > EXPORT_PAGE)
		return odoo_malformed(r, model, "search_read", psprintf("%d records where at most %d were asked for", *n,
																EXPORT_PAGE));
	keys = palloc(sizeof(char *) * (*n + 1));
	docs = palloc(sizeof(Jsonb *) * (*n + 1));
	for (int i = 0; i < *n; i++)
	{
		long		id;

		(void) jb_int(jb_array_object(rows, i), "id", &id);
		/* out of order, the offsets would skip some and repeat others */
		if (id <= *last_id)
			return odoo_malformed(r, model, "search_read", "the records are not in id order");
		*last_id = id;
		keys[i] = psprintf("%ld", id);
		docs[i] = jb_array_object_copy(rows, i);
	}
	export_rows(ctx, model, *n, keys, docs);
	return true;
}

/* One model: read on from where this run's export of it stopped, then counted against the engine */
static bool
export_kind(StepContext *ctx, StepResult *r, const char *model, const char *domain, int64 *exported)
{
	MemoryContext page_memory = AllocSetContextCreate(CurrentMemoryContext, "odoo export page",
													  ALLOCSET_DEFAULT_SIZES);
	MemoryContext caller = CurrentMemoryContext;
	int64		offset = exported_count(ctx, model);
	long		last_id = 0;
	long		engine;
	int			n;

	do
	{
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		/* a page's answer and documents go once it is written; a failure's message stays */
		MemoryContextSwitchTo(page_memory);
		ok = export_page(ctx, r, model, domain, offset, &last_id, &n);
		MemoryContextSwitchTo(caller);
		if (!ok)
			return false;
		MemoryContextReset(page_memory);
		offset += n;
	} while (n == EXPORT_PAGE);
	MemoryContextDelete(page_memory);

	if (!odoo_count_all(ctx, r, model, domain, &engine))
		return false;
	*exported = exported_count(ctx, model);
	if (*exported < engine)
	{
		step_fail(r, FAIL_TRANSIENT, "%s: the engine counts %ld, %lld are exported: records came during the export",
				  model, engine, (long long) *exported);
		return false;
	}
	if (*exported > engine)
	{
		step_fail(r, FAIL_PERMANENT, "%s: the engine counts %ld, %lld were exported: records were deleted during the export",
				  model, engine, (long long) *exported);
		return false;
	}
	return true;
}

/* offboard_3_export */
void
odoo_step_export(StepContext *ctx, StepResult *r)
{
	long		cid = odoo_recorded_company(ctx, r, true);
	StringInfoData counts;
	int64		total = 0;

	if (cid == 0)
		return;
	initStringInfo(&counts);
	for (int i = 0; i < lengthof(export_kinds); i++)
	{
		int64		exported;

		if (!export_kind(ctx, r, export_kinds[i].model, kind_domain(ctx, export_kinds[i].link, cid), &exported))
			return;
		total += exported;
		appendStringInfo(&counts, "%s%s %lld", i > 0 ? ", " : "", export_kinds[i].model, (long long) exported);
	}
	step_done(ctx, r, true, "%lld records of %s exported, as many as the engine counts: %s", (long long) total,
			  company_of(ctx), counts.data);
}
