-- Happy path and idempotency: a tenant inserted with an engine provisions itself, the
-- engine ends up holding exactly one of each resource, and a second run changes nothing.
\set eng happy:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Happy Retail', :'eng', '{"abbr": "HR"}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': the run started by the insert completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', CASE :'kind' WHEN 'odoo'
                                      THEN '{"step_6_items": "skipped", "step_1_fiscal_year": "skipped"}'
                                      WHEN 'sample' THEN '{}'
                                      ELSE '{"step_6_items": "skipped"}' END::jsonb, kind => :'kind'),
          :'kind' || ': every step completed; items skipped without demo data (and Odoo''s fiscal year)');
SELECT is(provisioning.provision_status(:'tenant')->'progress', '100', :'kind' || ': progress is 100');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'PROVISIONED', :'kind' || ': the tenant is PROVISIONED');
SELECT isnt(provisioned_at, NULL, :'kind' || ': provisioned_at is set') FROM provisioning.tenants WHERE id = :'tenant';
SELECT ok(bool_and((s->>'duration_ms')::float >= 0 AND s->>'finished_at' IS NOT NULL),
          :'kind' || ': completed steps carry a duration and an end time')
  FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s
 WHERE s->>'status' = 'completed';
SELECT ok(count(*) > 0 AND bool_and(duration_ms IS NOT NULL), :'kind' || ': logs carry the completed steps'' durations')
  FROM provisioning.provision_logs(:'tenant') WHERE status = 'completed';

\set summary `$SIMCTL :sim summary :eng:host`
\if :odoo
SELECT is(:'summary'::jsonb - 'account.account',
          '{"res.company": 1, "account.journal": 8, "account.journal cash": 1, "stock.warehouse": 3,
            "res.partner Walk-In Customer": 1, "pos.payment.method": 3, "pos.config": 1, "pos.session": 1,
            "pos.session opened": 1, "product.template": 0, "product.template available_in_pos": 0,
            "chart_template": ["generic_coa"]}'::jsonb,
          'odoo: the engine holds one of each resource (the company''s own warehouse + Main Store + POS Store; the chart''s journals and payment methods)');
SELECT cmp_ok((:'summary'::jsonb->>'account.account')::int, '>', 0, 'odoo: the chart of accounts was loaded');
SELECT is(provisioning_metadata->>'pos_profile', 'Happy Retail POS', 'odoo: the metadata names the POS config')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
SELECT is(provisioning.provision_status(:'tenant')->>'workspace_url',
          test.odoo_sim_url() || '/pos/ui?config_id=' || (provisioning_metadata->>'pos_config_id'),
          'odoo: the workspace is the POS UI of the metadata''s pos_config_id')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
\elif :sample
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 0, "Company": 1, "Warehouse": 6, "Customer": 1, "POS Profile": 0,
            "POS Opening Entry": 0, "Item": 0}'::jsonb,
          'sample: the engine holds one of each resource (5 default warehouses + Sample Store)');
SELECT is(provisioning_metadata->>'warehouse', 'Sample Store - HR', 'sample: the metadata names the warehouse')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
SELECT is(provisioning_metadata->>'customer', 'Sample Customer', 'sample: the metadata names the customer')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
SELECT is(provisioning.provision_status(:'tenant')->>'workspace_url', test.sim_url(:'eng') || '/app',
          'sample: the workspace is the desk');
\else
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 1, "Company": 1, "Warehouse": 7, "Customer": 1, "POS Profile": 1,
            "POS Opening Entry": 1, "Item": 0}'::jsonb,
          'the engine holds one of each resource (5 default warehouses + Main Store + POS Store)');
SELECT cmp_ok((:'summary'::jsonb->>'Account')::int, '>', 0, 'the chart of accounts was imported');
SELECT is(provisioning_metadata->>'pos_profile', 'Happy Retail POS', 'the metadata names the POS profile')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
SELECT is(provisioning_metadata->>'main_warehouse', 'Main Store - HR', 'the metadata names the warehouse')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant';
\endif

-- every request carried the run's correlation id
\set requests `$SIMCTL :sim requests :eng:host`
SELECT is((SELECT array_agg(DISTINCT r->>'correlation_id') FROM jsonb_array_elements(:'requests'::jsonb) r),
          ARRAY[provisioning.provision_status(:'tenant')->>'correlation_id'],
          :'kind' || ': every engine request carried X-Correlation-ID of the run');

-- Idempotency: a second run finds everything and creates nothing
SELECT is(provisioning.provision_start(:'tenant')->>'status', 'PENDING', :'kind' || ': a second run is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': the second run completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', CASE :'kind' WHEN 'odoo'
                                   THEN '{"step_6_items": "skipped", "step_1_fiscal_year": "skipped"}'
                                   WHEN 'sample' THEN '{}'
                                   ELSE '{"step_6_items": "skipped"}' END::jsonb, kind => :'kind'),
          :'kind' || ': the second run reports exists for every step');
\set summary2 `$SIMCTL :sim summary :eng:host`
SELECT is(:'summary2'::jsonb, :'summary'::jsonb, :'kind' || ': the engine''s counts did not change');
\set requests2 `$SIMCTL :sim requests :eng:host`
SELECT is(test.write_requests(:'kind', :'requests'::jsonb), test.write_requests(:'kind', :'requests2'::jsonb),
          :'kind' || ': the second run sent no creating request');
