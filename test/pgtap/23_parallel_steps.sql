-- Steps that do not depend on each other run at the same time, for each engine
-- (cases/23_parallel_steps.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 16);
\set case 23_parallel_steps
\ir cases/engines.sql
SELECT * FROM finish();
