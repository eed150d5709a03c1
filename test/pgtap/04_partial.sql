-- A failed non-critical step: with demo data on and the engine refusing items, the run
-- ends PARTIAL with every critical step done and the items' error recorded.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(6);

\set ignored `$SIMCTL reset partial.localhost`
\set ignored `$SIMCTL fault '{"site": "partial.localhost", "method": "POST", "path": "/api/resource/Item", "action": "status", "status": 417, "times": -1}'`
SELECT test.new_engine('partial') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Partial Retail', 'partial', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'PARTIAL', 'the run ends PARTIAL');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', '{"step_6_items": "failed"}'),
          'every critical step completed; the items step failed');
SELECT is(provisioning.provision_status(:'tenant')->'errors'->0->>'step', 'step_6_items', 'the error is the items step''s');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', 'HTTP 417', 'with the engine''s answer');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'PARTIAL', 'the tenant is PARTIAL');
SELECT cmp_ok((provisioning.provision_status(:'tenant')->>'progress')::int, '<', 100, 'progress is below 100');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
