-- Every write's answer lost after the engine committed, for each engine and the test-only kind (cases/07_lost_responses.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 4);
\set case 07_lost_responses
\ir cases/engines.sql
\ir cases/sample.sql
SELECT * FROM finish();
