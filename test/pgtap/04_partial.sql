-- A failed non-critical step ends the run PARTIAL, for each engine and the test-only kind (cases/04_partial.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 6);
\set case 04_partial
\ir cases/engines.sql
\ir cases/sample.sql
SELECT * FROM finish();
