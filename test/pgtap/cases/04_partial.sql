-- A failed non-critical step: with demo data on and the engine refusing items (the sample
-- kind: its customer), the run ends PARTIAL with every critical step done and the step's
-- error recorded.
\set eng partial:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
\set ignored `$SIMCTL odoo fault '{"db": "partial_odoo", "method": "object.execute_kw product.template create", "action": "error", "name": "odoo.exceptions.ValidationError", "message": "Demo products are not welcome here", "times": -1}'`
\set refusal 'ValidationError: Demo products are not welcome here'
\set failing step_6_items
\elif :sample
-- the sample kind has no items: its customer is the step that is not critical
\set ignored `$SIMCTL fault '{"site": "partial_sample.localhost", "method": "POST", "doctype": "Customer", "action": "status", "status": 417, "times": -1}'`
\set refusal 'HTTP 417'
\set failing step_7_customer
\else
\set ignored `$SIMCTL fault '{"site": "partial.localhost", "method": "POST", "doctype": "Item", "action": "status", "status": 417, "times": -1}'`
\set refusal 'HTTP 417'
\set failing step_6_items
\endif
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Partial Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'PARTIAL', :'kind' || ': the run ends PARTIAL');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', CASE :'kind' WHEN 'odoo'
                                      THEN '{"step_6_items": "failed", "step_1_fiscal_year": "skipped"}'
                                      WHEN 'sample' THEN '{"step_7_customer": "failed"}'
                                      ELSE '{"step_6_items": "failed"}' END::jsonb, kind => :'kind'),
          :'kind' || ': every critical step completed; the non-critical step failed');
SELECT is(provisioning.provision_status(:'tenant')->'errors'->0->>'step', :'failing', :'kind' || ': the error is the non-critical step''s');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', :'refusal', :'kind' || ': with the engine''s answer');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'PARTIAL', :'kind' || ': the tenant is PARTIAL');
SELECT cmp_ok((provisioning.provision_status(:'tenant')->>'progress')::int, '<', 100, :'kind' || ': progress is below 100');

\set ignored `$SIMCTL :sim clear`
