-- A critical failure: a chart template the engine does not know imports no accounts
-- (ERPNext still saves the company). The run ends FAILED at the chart step; after the
-- setting is fixed, provision_retry starts at that step, does not re-run the earlier
-- ones, and completes.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(10);

\set ignored `$SIMCTL reset chart.localhost`
SELECT test.new_engine('chart') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Chart Retail', 'chart', '{"chart_of_accounts": "Standrad"}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'FAILED', 'the run fails');
SELECT is(provisioning.provision_status(:'tenant')->>'error_step', 'step_3_chart_of_accounts', 'at the chart of accounts');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', 'Standrad.*created no accounts',
               'the error names the chart and what went wrong');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'FAILED', 'the tenant is FAILED');
SELECT is(test.step_statuses(:'tenant')->>'step_4_warehouses', 'pending', 'nothing after the failed step ran');

\set before `$SIMCTL requests chart.localhost`
UPDATE provisioning.tenants SET settings = '{"chart_of_accounts": "Standard"}' WHERE id = :'tenant';
SELECT is(provisioning.provision_retry(:'tenant')->'steps'->3->>'status', 'pending', 'the retry starts at the failed step');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the retry completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', '{"step_6_items": "skipped"}'),
          'the carried steps keep their outcome and the rest completed');

\set after `$SIMCTL requests chart.localhost`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'after'::jsonb) r
            WHERE r->>'path' ~ '(Fiscal%20Year|Fiscal Year|get_logged_user)'),
          (SELECT count(*) FROM jsonb_array_elements(:'before'::jsonb) r
            WHERE r->>'path' ~ '(Fiscal%20Year|Fiscal Year|get_logged_user)'),
          'the steps before the retried one were not re-run');
\set summary `$SIMCTL summary chart.localhost`
SELECT is((:'summary'::jsonb->>'Company')::int, 1, 'one company, imported on retry');

SELECT * FROM finish();
