-- A failed non-critical step: with demo data on and the engine refusing items, the run
-- ends PARTIAL with every critical step done and the items' error recorded.
\set eng partial:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
\set ignored `$SIMCTL odoo fault '{"db": "partial_odoo", "method": "object.execute_kw product.template create", "action": "error", "name": "odoo.exceptions.ValidationError", "message": "Demo products are not welcome here", "times": -1}'`
\set refusal 'ValidationError: Demo products are not welcome here'
\else
\set ignored `$SIMCTL fault '{"site": "partial.localhost", "method": "POST", "doctype": "Item", "action": "status", "status": 417, "times": -1}'`
\set refusal 'HTTP 417'
\endif
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Partial Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'PARTIAL', :'kind' || ': the run ends PARTIAL');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', CASE :'kind' WHEN 'odoo'
                                      THEN '{"step_6_items": "failed", "step_1_fiscal_year": "skipped"}'
                                      ELSE '{"step_6_items": "failed"}' END::jsonb, kind => :'kind'),
          :'kind' || ': every critical step completed; the items step failed');
SELECT is(provisioning.provision_status(:'tenant')->'errors'->0->>'step', 'step_6_items', :'kind' || ': the error is the items step''s');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', :'refusal', :'kind' || ': with the engine''s answer');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'PARTIAL', :'kind' || ': the tenant is PARTIAL');
SELECT cmp_ok((provisioning.provision_status(:'tenant')->>'progress')::int, '<', 100, :'kind' || ': progress is below 100');

\set ignored `$SIMCTL :sim clear`
