-- The cap on an engine's refusals of one request, for each engine (cases/39_refusal_cap.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 3);
ALTER SYSTEM SET provisioning.http_retries = 0;
SELECT pg_reload_conf() AS reloaded;
\set ignored `$WAIT_FOR 'the reload of provisioning.http_retries = 0' "SELECT current_setting('provisioning.http_retries') = '0'"`
\set case 39_refusal_cap
\ir cases/engines.sql
ALTER SYSTEM RESET provisioning.http_retries;
SELECT pg_reload_conf() AS reloaded;
\set ignored `$WAIT_FOR 'provisioning.http_retries back to its default' "SELECT current_setting('provisioning.http_retries') = '3'"`
SELECT * FROM finish();
