-- Writes the engine applies after the client gave up, for each engine (cases/16_slow_writes.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 7);
\set case 16_slow_writes
\ir cases/engines.sql
SELECT * FROM finish();
