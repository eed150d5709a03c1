/*
 * registry.h
 *     The engine drivers this build knows: adding an engine kind is a folder of its own
 *     under src/engines/ and one entry here.
 */
#ifndef PROVISIONING_ENGINES_REGISTRY_H
#define PROVISIONING_ENGINES_REGISTRY_H

#define ENGINE_DRIVERS(X) \
	X(erpnext_driver) \
	X(sample_driver) \
	X(odoo_driver)

#endif							/* PROVISIONING_ENGINES_REGISTRY_H */
