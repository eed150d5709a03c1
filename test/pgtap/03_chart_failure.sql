-- A failed chart of accounts, then a retry, for each engine (cases/03_chart_failure.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 10 + 3);
\set case 03_chart_failure
\ir cases/engines.sql

-- Odoo: a template that answers yet loads nothing is triggered once more, then fails for good
\set ignored `$SIMCTL odoo reset noop_chart`
\set ignored `$SIMCTL odoo fault '{"db": "noop_chart", "method": "object.execute_kw account.chart.template try_loading", "action": "noop", "times": -1}'`
SELECT test.new_odoo_engine('noop_chart') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Noop Chart Retail', 'noop_chart') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant'), 'FAILED', 'odoo: a chart that loads nothing fails the run');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', 'loaded no accounts.*triggered again',
               'odoo: the error says the template loaded nothing, also when triggered again');
\set requests `$SIMCTL odoo requests noop_chart`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'model_method' = 'try_loading'),
          2::bigint, 'odoo: the load was triggered twice, and the step was not retried');
\set ignored `$SIMCTL odoo clear`
SELECT * FROM finish();
