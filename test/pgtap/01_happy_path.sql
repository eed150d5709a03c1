-- Happy path and idempotency, for each engine (cases/01_happy_path.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 17);
\set case 01_happy_path
\ir cases/engines.sql
SELECT * FROM finish();
