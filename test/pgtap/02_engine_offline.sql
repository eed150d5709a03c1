-- An engine that is offline: the run ends NOT_PROVISIONED at the engine check, saying so,
-- and touches nothing; once the engine is back, provision_start completes.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(7);

\set ignored `$SIMCTL reset offline.localhost`
SELECT test.new_engine('offline') IS NOT NULL AS engine;
\set ignored `$SIMCTL offline true`
INSERT INTO provisioning.tenants (name, engine) VALUES ('Offline Retail', 'offline') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'NOT_PROVISIONED', 'an unreachable engine leaves the tenant NOT_PROVISIONED');
SELECT is(provisioning.provision_status(:'tenant')->>'error_step', 'step_0_engine_check', 'the engine check failed');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', 'engine is offline',
               'the error says the engine is offline');
SELECT is((SELECT count(*) FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s
            WHERE s->>'status' = 'pending'), 8::bigint, 'no other step was touched');
\set ignored `$SIMCTL offline false`
\set summary `$SIMCTL summary offline.localhost`
SELECT is((:'summary'::jsonb->>'Company')::int, 0, 'the engine holds nothing');

SELECT is(provisioning.provision_start(:'tenant')->>'status', 'PENDING', 'a new run is queued once the engine is back');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'and it completes');

SELECT * FROM finish();
