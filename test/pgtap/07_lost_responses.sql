-- Responses lost after the engine committed, for every creating call of a run: the engine
-- applies each write and then drops the connection without answering. The run completes
-- and the engine holds exactly one of everything.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(4);

\set ignored `$SIMCTL reset lost.localhost`
\set ignored `$SIMCTL fault '{"site": "lost.localhost", "method": "POST", "path": "^/api/resource/(Fiscal Year|Company|Customer|POS Profile|POS Opening Entry)$", "action": "drop_after_commit", "times": 5}'`
\set ignored `$SIMCTL fault '{"site": "lost.localhost", "method": "POST", "path": "^/api/resource/Warehouse$", "action": "drop_after_commit", "times": 2}'`
\set ignored `$SIMCTL fault '{"site": "lost.localhost", "method": "POST", "path": "^/api/resource/Item$", "action": "drop_after_commit", "times": 3}'`
\set ignored `$SIMCTL fault '{"site": "lost.localhost", "method": "PUT", "path": "Settings", "action": "drop_after_commit", "times": 2}'`
SELECT test.new_engine('lost') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Lost Retail', 'lost', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the run completes although every write''s answer was lost');
SELECT is(test.step_statuses(:'tenant'), test.all_steps('completed'),
          'every step reports completed: what it found on re-check was its own write');
\set requests `$SIMCTL requests lost.localhost`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'fault' = 'drop_after_commit'),
          12::bigint, 'twelve answers were lost');
\set summary `$SIMCTL summary lost.localhost`
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 1, "Company": 1, "Warehouse": 7, "Customer": 1, "POS Profile": 1,
            "POS Opening Entry": 1, "Item": 3}'::jsonb,
          'the engine holds exactly one of everything');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
