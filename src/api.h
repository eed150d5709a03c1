/*
 * api.h
 *     Checks shared by the SQL-callable C functions.
 */
#ifndef PROVISIONING_API_H
#define PROVISIONING_API_H

/* Errors out, saying what to set, unless the workers can run for this database. */
extern void require_workers(void);

#endif							/* PROVISIONING_API_H */
