/*
 * engine_catalog.c
 *     What the registered drivers declare, as SQL reads it: the engine kinds with their
 *     setting defaults and name comparison, each kind's step catalog per operation, and
 *     where a user enters a workspace. provisioning.engine_kinds and provisioning.step_catalog
 *     are filled from here, so no SQL names an engine.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "api.h"
#include "driver.h"

PG_FUNCTION_INFO_V1(provisioning_driver_kinds);
PG_FUNCTION_INFO_V1(provisioning_driver_catalog);
PG_FUNCTION_INFO_V1(provisioning_workspace_url);

/* provisioning._driver_kinds(): kind, setting_defaults, company_names per driver */
Datum
provisioning_driver_kinds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const EngineDriver *d;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; (d = driver_at(i)) != NULL; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(d->kind);
		values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(d->setting_defaults));
		values[2] = CStringGetTextDatum(d->company_names);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static Datum
text_array(const char *const *items)
{
	int			n = 0;
	Datum	   *elems;

	while (items[n] != NULL)
		n++;
	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * provisioning._driver_catalog(): engine_kind, operation, step, position, critical,
 * condition, description, depends_on of every step of every catalog of every driver, in the
 * driver's order.
 */
Datum
provisioning_driver_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const EngineDriver *d;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; (d = driver_at(i)) != NULL; i++)
		for (const StepCatalog *c = d->catalogs; c->operation != NULL; c++)
		{
			int			position = 0;

			for (const StepImpl *s = c->steps; s->step != NULL; s++)
			{
				Datum		values[8];
				bool		nulls[8] = {false, false, false, false, false, false, false, false};

				if (!catalog_has(c, s))
					continue;
				/* what the catalog says is what the driver executes */
				if ((s->function == NULL) != (strcmp(s->condition, "unsupported") == 0))
					elog(ERROR, "step %s of the %s driver's %s catalog is %s, but it %s a function",
						 s->step, d->kind, c->operation, s->condition, s->function ? "has" : "has no");

				values[0] = CStringGetTextDatum(d->kind);
				values[1] = CStringGetTextDatum(c->operation);
				values[2] = CStringGetTextDatum(s->step);
				values[3] = Int32GetDatum(position++);
				values[4] = BoolGetDatum(s->critical);
				values[5] = CStringGetTextDatum(s->condition);
				values[6] = CStringGetTextDatum(s->description);
				values[7] = text_array(s->depends_on);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
	return (Datum) 0;
}

/*
 * provisioning._workspace_url(engine_kind, base_url, metadata): base_url without its query,
 * fragment and trailing slashes, then the driver's path for the run's metadata. NULL for an
 * unknown kind or no base_url.
 */
Datum
provisioning_workspace_url(PG_FUNCTION_ARGS)
{
	const EngineDriver *driver;
	char	   *base;
	int			len;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	driver = driver_for_kind(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (driver == NULL)
		PG_RETURN_NULL();
	base = text_to_cstring(PG_GETARG_TEXT_PP(1));
	len = strcspn(base, "?#");
	while (len > 0 && base[len - 1] == '/')
		len--;
	base[len] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s%s", base, driver->workspace_path(
		PG_ARGISNULL(2) ? NULL : &PG_GETARG_JSONB_P(2)->root))));
}
