-- A third of all engine calls fail at random, for each engine (cases/08_random_faults.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 4);
\set case 08_random_faults
\ir cases/engines.sql
SELECT * FROM finish();
