/*
 * driver.c
 *     The engine drivers this version knows, by engines.kind.
 */
#include "postgres.h"

#include "driver.h"

static const EngineDriver *const drivers[] = {&erpnext_driver, &odoo_driver};

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
