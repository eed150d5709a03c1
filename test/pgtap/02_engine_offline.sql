-- An engine that is offline, for each engine and the test-only kind (cases/02_engine_offline.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 7);
\set case 02_engine_offline
\ir cases/engines.sql
\ir cases/sample.sql
SELECT * FROM finish();
