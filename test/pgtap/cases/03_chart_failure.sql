-- A critical failure: a chart template the engine does not know imports no accounts
-- (ERPNext still saves the company; Odoo refuses the template). The run ends FAILED at the
-- chart step, and no step that needs the chart starts; after the setting is fixed,
-- provision_retry starts at that step, does not re-run the earlier ones, and completes.
\set eng chart:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Chart Retail', :'eng', CASE :'kind' WHEN 'odoo' THEN '{"chart_of_accounts": "generic_cao"}'
                                ELSE '{"chart_of_accounts": "Standrad"}' END::jsonb) RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'FAILED', :'kind' || ': the run fails');
SELECT is(provisioning.provision_status(:'tenant')->>'error_step', 'step_3_chart_of_accounts', :'kind' || ': at the chart of accounts');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message',
               CASE :'kind' WHEN 'odoo' THEN 'try_loading: KeyError: .generic_cao' ELSE 'Standrad.*created no accounts' END,
               :'kind' || ': the error names the chart and what went wrong');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'FAILED', :'kind' || ': the tenant is FAILED');
SELECT is(test.step_statuses(:'tenant')->>'step_8_pos_profile', 'pending', :'kind' || ': nothing that needs the failed step ran');
-- steps that do not need the chart may have run meanwhile: a retry finds what they made
SELECT coalesce(jsonb_object_agg(c.step, 'exists'), '{}') AS ran_meanwhile
  FROM jsonb_each_text(test.step_statuses(:'tenant')) s(step, status)
  JOIN provisioning.step_catalog c ON c.engine_kind = :'kind' AND c.operation = 'FULL_POS' AND c.step = s.step
 WHERE c.position > 3 AND s.status IN ('completed', 'exists') \gset

\set before `$SIMCTL :sim requests :eng:host`
UPDATE provisioning.tenants SET settings = CASE :'kind' WHEN 'odoo' THEN '{"chart_of_accounts": "generic_coa"}'
                                           ELSE '{"chart_of_accounts": "Standard"}' END::jsonb
 WHERE id = :'tenant';
SELECT is(provisioning.provision_retry(:'tenant')->'steps'->3->>'status', 'pending', :'kind' || ': the retry starts at the failed step');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': the retry completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', CASE :'kind' WHEN 'odoo'
                                      THEN '{"step_6_items": "skipped", "step_1_fiscal_year": "skipped"}'
                                      ELSE '{"step_6_items": "skipped"}' END::jsonb || :'ran_meanwhile'::jsonb,
                         kind => :'kind'),
          :'kind' || ': the carried steps keep their outcome, those that ran meanwhile exist, the rest completed');

-- what only the earlier steps ask for: ERPNext's fiscal year and API user, Odoo's currency
\set after `$SIMCTL :sim requests :eng:host`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'after'::jsonb) r
            WHERE r->>'path' ~ '(Fiscal%20Year|Fiscal Year|get_logged_user)' OR r->>'model' = 'res.currency'),
          (SELECT count(*) FROM jsonb_array_elements(:'before'::jsonb) r
            WHERE r->>'path' ~ '(Fiscal%20Year|Fiscal Year|get_logged_user)' OR r->>'model' = 'res.currency'),
          :'kind' || ': the steps before the retried one were not re-run');
\set summary `$SIMCTL :sim summary :eng:host`
SELECT is((:'summary'::jsonb->>CASE :'kind' WHEN 'odoo' THEN 'res.company' ELSE 'Company' END)::int, 1,
          :'kind' || ': one company, imported on retry');
