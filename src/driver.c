/*
 * driver.c
 *     The engine drivers this build knows (engines/registry.h), by engines.kind.
 */
#include "postgres.h"

#include "driver.h"
#include "engines/registry.h"

#define DECLARE_DRIVER(name) extern const EngineDriver name;
ENGINE_DRIVERS(DECLARE_DRIVER)
#define LIST_DRIVER(name) &name,
static const EngineDriver *const drivers[] = {ENGINE_DRIVERS(LIST_DRIVER)};

const EngineDriver *
driver_for_kind(const char *kind)
{
	for (int i = 0; i < lengthof(drivers); i++)
		if (strcmp(drivers[i]->kind, kind) == 0)
			return drivers[i];
	return NULL;
}

StepFunction
driver_step(const EngineDriver *driver, const char *step)
{
	for (const StepImpl *s = driver->steps; s->step != NULL; s++)
		if (strcmp(s->step, step) == 0)
			return s->function;
	return NULL;
}

/* The i-th registered driver, NULL past the last. */
const EngineDriver *
driver_at(int i)
{
	return i < lengthof(drivers) ? drivers[i] : NULL;
}
