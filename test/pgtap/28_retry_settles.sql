-- A retry never creates again what an earlier run may still be creating, for each engine
-- (cases/28_retry_settles.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 2 * 5);
ALTER SYSTEM SET provisioning.retry_base_delay = 0;
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'the reload of provisioning.retry_base_delay = 0' "SELECT current_setting('provisioning.retry_base_delay') = '0'"`
\set case 28_retry_settles
\ir cases/engines.sql
ALTER SYSTEM RESET provisioning.retry_base_delay;
SELECT pg_reload_conf();
SELECT * FROM finish();
