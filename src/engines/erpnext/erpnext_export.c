/*
 * erpnext_export.c
 *     offboard_3_export: every document the engine holds for the tenant's company, of every
 *     kind the provisioning made and the point of sale's sales (spec section 12), copied
 *     into provisioning.tenant_exports, kind by kind, page by page.
 *
 * A page is the names of up to EXPORT_PAGE documents of one doctype in a stable order
 * (creation, then name: what was made later comes later, so the pages before stay as they
 * were), then each document whole with its child rows (GET /api/resource/<doctype>/<name>:
 * a list's "*" leaves the child tables out, and a list with child fields gives a row per
 * child, which pages cannot cut by document), written with export_rows in one transaction.
 * A page is written whole or not at all, so the rows this run exported of a kind are the
 * first ones of the engine's list: a resumed step (a crash, a retry) asks for the next page
 * from exported_count, exporting nothing twice and missing nothing. Once a kind's last page
 * is written, its count is compared with the engine's own (frappe.client.get_count with the
 * same filters); a difference fails the step, naming the kind and both counts.
 *
 * What the engine sends is checked before it is kept: a page is a list of at most the rows
 * asked for, each a document with its name; each document read is the one asked for, and
 * at most EXPORT_MAX_DOCUMENT bytes.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "driver.h"
#include "erpnext.h"
#include "frappe.h"
#include "json.h"

#define EXPORT_PAGE 100
/* a sale of a few hundred lines is well under it; an engine's megabytes per document are not believed */
#define EXPORT_MAX_DOCUMENT (4 * 1024 * 1024)
/* Frappe's names are varchar(140) */
#define EXPORT_MAX_KEY 140
#define STABLE_ORDER "creation asc, name asc"

/* One kind of document to export: its doctype and the filters that find the tenant's */
typedef struct ExportKind
{
	const char *doctype;
	char	   *filters;
} ExportKind;

/* Documents of the company, by their company field */
static const char *const company_doctypes[] = {
	"Account", "Warehouse", "POS Profile", "POS Opening Entry", "POS Closing Entry", "POS Invoice",
	"Sales Invoice",
};

/*
 * The kinds to export, in kinds (room for 12): the company and what belongs to it, then
 * what the provisioning made that is the site's (the fiscal year, the walk-in customer, the
 * demo items), each when it recorded making it. NULL company: the result failed.
 */
static int
export_kinds(StepContext *ctx, StepResult *r, ExportKind *kinds)
{
	const char *company = meta_recorded(ctx, r, "company", "the company");
	const char *pair[2] = {"company", company};
	const char *fiscal_year = meta_get(ctx, "fiscal_year");
	const char *customer = meta_get(ctx, "customer");
	int			n = 0;

	if (company == NULL)
		return -1;
	kinds[n++] = (ExportKind) {"Company", frappe_names_filter(1, &company)};
	for (int i = 0; i < lengthof(company_doctypes); i++)
		kinds[n++] = (ExportKind) {company_doctypes[i], frappe_equal_filters(1, pair)};
	if (fiscal_year != NULL && fiscal_year[0] != '\0')
		kinds[n++] = (ExportKind) {"Fiscal Year", frappe_names_filter(1, &fiscal_year)};
	if (customer != NULL && customer[0] != '\0')
		kinds[n++] = (ExportKind) {"Customer", frappe_names_filter(1, &customer)};
	if (meta_get(ctx, "demo_items") != NULL && meta_get(ctx, "demo_items")[0] != '\0')
	{
		const char *codes[8];
		int			ncodes = erpnext_demo_item_codes(codes);

		Assert(ncodes <= lengthof(codes));
		kinds[n++] = (ExportKind) {"Item", frappe_names_filter(ncodes, codes)};
	}
	return n;
}

/*
 * One document whole, as the engine holds it: into *doc, checked to be the one named and
 * of a sane size. False when the result failed.
 */
static bool
read_whole(StepContext *ctx, StepResult *r, const char *doctype, const char *name, Jsonb **doc)
{
	char	   *path = frappe_resource_path(doctype, name);
	JsonbContainer *root;
	char	   *have;

	switch (frappe_call(ctx, r, "GET", path, NULL, &root))
	{
		case FRAPPE_OK:
			break;
		case FRAPPE_NOT_FOUND:
			/* deleted between the page and its read: the next attempt pages again */
			step_fail(r, FAIL_TRANSIENT, "%s %s vanished while it was exported", doctype, name);
			return false;
		default:
			return false;
	}
	*doc = jb_object_jsonb(root, "data");
	if (*doc == NULL || !jb_str(&(*doc)->root, "name", &have) || strcmp(have, name) != 0)
		return step_malformed(r, psprintf("GET %s", path), "data is not the document asked for");
	if (VARSIZE(*doc) > EXPORT_MAX_DOCUMENT)
	{
		step_fail(r, FAIL_PERMANENT, "%s %s is larger than %d bytes: not exported", doctype, name,
				  EXPORT_MAX_DOCUMENT);
		return false;
	}
	return true;
}

/*
 * Exports one kind from where this run left it, page by page, then compares the count.
 * *exported: how many of the kind this run has exported. False when the result failed.
 */
static bool
export_kind(StepContext *ctx, StepResult *r, const ExportKind *kind, int64 *exported)
{
	MemoryContext page_cxt = AllocSetContextCreate(CurrentMemoryContext, "export page", ALLOCSET_DEFAULT_SIZES);
	MemoryContext outer = MemoryContextSwitchTo(page_cxt);
	int64		offset = exported_count(ctx, kind->doctype);
	long		count;
	int			n;

	do
	{
		JsonbContainer *rows;
		const char *keys[EXPORT_PAGE];
		Jsonb	   *docs[EXPORT_PAGE];

		/* a failure's message lives in this context: it is left for the step's end to free */
		if (frappe_list(ctx, r, kind->doctype, "[\"name\"]", kind->filters, STABLE_ORDER, offset, EXPORT_PAGE,
						&rows) != FRAPPE_OK)
			goto failed;
		n = jb_array_length(rows);
		for (int i = 0; i < n; i++)
		{
			char	   *name;

			/* a list's rows are documents with their names (frappe_list) */
			(void) jb_str(jb_array_object(rows, i), "name", &name);
			if (strlen(name) == 0 || strlen(name) > EXPORT_MAX_KEY)
			{
				step_malformed(r, psprintf("GET %s", frappe_resource_path(kind->doctype, NULL)),
							   psprintf("row %d's name is empty or longer than %d bytes", i, EXPORT_MAX_KEY));
				goto failed;
			}
			if (!read_whole(ctx, r, kind->doctype, name, &docs[i]))
				goto failed;
			keys[i] = name;
		}
		export_rows(ctx, kind->doctype, n, keys, docs);
		offset += n;
		/*
		 * Every row of the page new to the export, or the engine's order is not the one the
		 * export relies on (a document made or deleted ahead of the page): the next attempt
		 * pages again from what is exported.
		 */
		if (exported_count(ctx, kind->doctype) != offset)
		{
			step_fail(r, FAIL_TRANSIENT, "the engine's list of %s changed while it was exported (page at %lld)",
					  kind->doctype, (long long) (offset - n));
			goto failed;
		}
		MemoryContextReset(page_cxt);
	} while (n == EXPORT_PAGE);

	if (frappe_count(ctx, r, kind->doctype, kind->filters, &count) != FRAPPE_OK)
		goto failed;
	if (count != offset)
	{
		step_fail(r, FAIL_PERMANENT, "%s: %lld exported, the engine counts %ld", kind->doctype,
				  (long long) offset, count);
		goto failed;
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(page_cxt);
	*exported = offset;
	return true;

failed:
	MemoryContextSwitchTo(outer);
	return false;
}

/* offboard_3_export */
void
erpnext_step_export(StepContext *ctx, StepResult *r)
{
	ExportKind	kinds[12];
	int			nkinds = export_kinds(ctx, r, kinds);
	StringInfoData msg;
	int64		total = 0;

	Assert(nkinds <= lengthof(kinds));
	if (nkinds < 0)
		return;
	initStringInfo(&msg);
	for (int i = 0; i < nkinds; i++)
	{
		int64		exported;

		if (!export_kind(ctx, r, &kinds[i], &exported))
			return;
		total += exported;
		appendStringInfo(&msg, "%s%s %lld", i ? ", " : "", kinds[i].doctype, (long long) exported);
	}
	/* the rows are this run's, whatever attempt wrote them: "completed" */
	step_done(ctx, r, true, "%lld documents exported, as many as the engine counts: %s", (long long) total, msg.data);
}
