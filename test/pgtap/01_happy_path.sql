-- Happy path and idempotency: a tenant inserted with an engine provisions itself, the
-- engine ends up holding exactly one of each resource, and a second run changes nothing.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(17);

\set ignored `$SIMCTL reset happy.localhost`
SELECT test.new_engine('happy') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Happy Retail', 'happy', '{"abbr": "HR"}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the run started by the insert completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', '{"step_6_items": "skipped"}'),
          'every step completed; items skipped without demo data');
SELECT is(provisioning.provision_status(:'tenant')->'progress', '100', 'progress is 100');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'PROVISIONED', 'the tenant is PROVISIONED');
SELECT isnt(provisioned_at, NULL, 'provisioned_at is set') FROM provisioning.tenants WHERE id = :'tenant';
SELECT ok(bool_and((s->>'duration_ms')::float >= 0 AND s->>'finished_at' IS NOT NULL),
          'completed steps carry a duration and an end time')
  FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s
 WHERE s->>'status' = 'completed';
SELECT ok(count(*) > 0 AND bool_and(duration_ms IS NOT NULL), 'logs carry the completed steps'' durations')
  FROM provisioning.provision_logs(:'tenant') WHERE status = 'completed';

\set summary `$SIMCTL summary happy.localhost`
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 1, "Company": 1, "Warehouse": 7, "Customer": 1, "POS Profile": 1,
            "POS Opening Entry": 1, "Item": 0}'::jsonb,
          'the engine holds one of each resource (5 default warehouses + Main Store + POS Store)');
SELECT cmp_ok((:'summary'::jsonb->>'Account')::int, '>', 0, 'the chart of accounts was imported');
SELECT is(provisioning_metadata->>'pos_profile', 'Happy Retail POS', 'the metadata names the POS profile')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
SELECT is(provisioning_metadata->>'main_warehouse', 'Main Store - HR', 'the metadata names the warehouse')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';

-- every request carried the run's correlation id
\set requests `$SIMCTL requests happy.localhost`
SELECT is((SELECT array_agg(DISTINCT r->>'correlation_id') FROM jsonb_array_elements(:'requests'::jsonb) r),
          ARRAY[provisioning.provision_status(:'tenant')->>'correlation_id'],
          'every engine request carried X-Correlation-ID of the run');

-- Idempotency: a second run finds everything and creates nothing
SELECT is(provisioning.provision_start(:'tenant')->>'status', 'PENDING', 'a second run is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the second run completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_6_items": "skipped"}'),
          'the second run reports exists for every step');
\set summary2 `$SIMCTL summary happy.localhost`
SELECT is(:'summary2'::jsonb, :'summary'::jsonb, 'the engine''s counts did not change');
\set requests2 `$SIMCTL requests happy.localhost`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r
            WHERE r->>'method' IN ('POST', 'PUT')),
          (SELECT count(*) FROM jsonb_array_elements(:'requests2'::jsonb) r
            WHERE r->>'method' IN ('POST', 'PUT')),
          'the second run sent no creating request');

SELECT * FROM finish();
