-- An engine's outages, at the first step and in the middle of runs, for each engine
-- (cases/34_engine_outages.sql); the settings that govern them refuse nonsense.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 14 + 3);
-- (ALTER SYSTEM runs outside a transaction only: its SQLSTATE is psql's to tell)
\set ON_ERROR_STOP 0
ALTER SYSTEM SET provisioning.engine_probe_interval = 0;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'engine_probe_interval 0 is refused');
ALTER SYSTEM SET provisioning.engine_outage_wait = -1;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'a negative engine_outage_wait is refused');
\set ON_ERROR_STOP 1
ALTER SYSTEM SET provisioning.engine_outage_wait = '2min';
SELECT is((SELECT setting FROM pg_file_settings WHERE name = 'provisioning.engine_outage_wait' AND applied IS NOT NULL),
          '2min', 'engine_outage_wait takes a duration');
ALTER SYSTEM RESET provisioning.engine_outage_wait;
\set case 34_engine_outages
\ir cases/engines.sql
SELECT * FROM finish();
