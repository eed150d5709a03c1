-- provisioning 1.2 -> 1.1: the rollback of 1.2. Undoes provisioning--1.1--1.2.sql section
-- by section, in reverse order; every user row is kept.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.1'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Metrics (issue 13)
----------------------------------------------------------------------------------------------------

DROP VIEW provisioning.metrics;
DROP FUNCTION provisioning._metrics();
DROP TRIGGER tenant_onboarding_log_queued ON provisioning.tenant_onboarding;
DROP FUNCTION provisioning._run_queued();
DROP FUNCTION provisioning._log_run_queued(uuid, uuid, uuid, text, text, text, uuid);
