/*
 * driver.c
 *     The engine drivers this build knows (engines/registry.h), by engines.kind, and their
 *     step catalogs, by operation. A test-only driver is known only while
 *     provisioning.test_engine_kinds is on: then and only then does CREATE EXTENSION add its
 *     kind and catalogs, and can a run or a probe use it.
 */
#include "postgres.h"

#include "driver.h"
#include "engines/registry.h"
#include "provisioning.h"

#define DECLARE_DRIVER(name) extern const EngineDriver name;
ENGINE_DRIVERS(DECLARE_DRIVER)
#define LIST_DRIVER(name) &name,
static const EngineDriver *const drivers[] = {ENGINE_DRIVERS(LIST_DRIVER)};

const EngineDriver *
driver_for_kind(const char *kind)
{
	const EngineDriver *d;

	for (int i = 0; (d = driver_at(i)) != NULL; i++)
		if (strcmp(d->kind, kind) == 0)
			return d;
	return NULL;
}

/* The driver's catalog of operation, or NULL when it has none */
static const StepCatalog *
driver_catalog(const EngineDriver *driver, const char *operation)
{
	for (const StepCatalog *c = driver->catalogs; c->operation != NULL; c++)
		if (strcmp(c->operation, operation) == 0)
			return c;
	return NULL;
}

/* Whether step, one of catalog's array, is a step of catalog's operation */
bool
catalog_has(const StepCatalog *catalog, const StepImpl *step)
{
	return catalog->leaves_out == NULL || strcmp(step->condition, catalog->leaves_out) != 0;
}

/* What step does in a run of operation: NULL when that operation has no such step */
StepFunction
driver_step(const EngineDriver *driver, const char *operation, const char *step)
{
	const StepCatalog *catalog = driver_catalog(driver, operation);

	if (catalog == NULL)
		return NULL;
	for (const StepImpl *s = catalog->steps; s->step != NULL; s++)
		if (strcmp(s->step, step) == 0 && catalog_has(catalog, s))
			return s->function;
	return NULL;
}

/* The i-th registered driver this server knows, NULL past the last. */
const EngineDriver *
driver_at(int i)
{
	for (int k = 0; k < lengthof(drivers); k++)
		if ((!drivers[k]->test_only || prov_test_engine_kinds) && i-- == 0)
			return drivers[k];
	return NULL;
}
