-- Transient engine errors and lost answers inside a step, for each engine and the test-only kind (cases/05_transient_faults.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 7);
\set case 05_transient_faults
\ir cases/engines.sql
\ir cases/sample.sql
SELECT * FROM finish();
