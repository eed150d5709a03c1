-- An engine's capacity and its own refusals, for each engine (cases/33_engine_limits.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 16);
\set case 33_engine_limits
\ir cases/engines.sql
SELECT * FROM finish();
