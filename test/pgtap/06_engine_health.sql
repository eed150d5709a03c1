-- engine_health for each engine (cases/06_engine_health.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SET provisioning.auto_start = off;
SELECT plan(2 * 10);
\set case 06_engine_health
\ir cases/engines.sql
SELECT * FROM finish();
