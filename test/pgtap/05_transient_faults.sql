-- Transient engine errors are retried inside the step, and a response lost after the
-- engine committed does not create anything twice (a second POST of the customer would
-- make "Walk-In Customer - 1").
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(7);

\set ignored `$SIMCTL reset flaky.localhost`
\set ignored `$SIMCTL fault '{"site": "flaky.localhost", "method": "POST", "path": "/api/resource/Company", "action": "status", "status": 503, "times": 1}'`
\set ignored `$SIMCTL fault '{"site": "flaky.localhost", "method": "GET", "path": "Warehouse", "action": "status", "status": 429, "retry_after": 1, "times": 1}'`
\set ignored `$SIMCTL fault '{"site": "flaky.localhost", "method": "POST", "path": "/api/resource/Customer", "action": "drop_after_commit", "times": 1}'`
\set ignored `$SIMCTL fault '{"site": "flaky.localhost", "method": "POST", "path": "/api/resource/POS%20Opening%20Entry|/api/resource/POS Opening Entry", "action": "drop_after_commit", "times": 1}'`
SELECT test.new_engine('flaky') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Flaky Retail', 'flaky') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the run completes despite the faults');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('completed', '{"step_6_items": "skipped"}'),
          'every step completed');
SELECT is((SELECT (s->>'attempts')::int FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s
            WHERE s->>'step' = 'step_2_company'), 2, 'the company step took two attempts');
SELECT ok(EXISTS (SELECT FROM provisioning.provision_logs(:'tenant') WHERE status = 'retrying' AND message ~ '503'),
          'the retry is logged with the engine''s status');
SELECT cmp_ok((SELECT max(duration_ms) FROM provisioning.provision_logs(:'tenant') WHERE step = 'step_4_warehouses'),
              '>=', 1000::float8, 'Retry-After: 1 was honoured');
\set customers `$SIMCTL count flaky.localhost Customer`
SELECT is(:customers, 1, 'exactly one customer after a lost response');
\set entries `$SIMCTL count flaky.localhost 'POS Opening Entry'`
SELECT is(:entries, 1, 'exactly one POS opening entry after a lost response');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
