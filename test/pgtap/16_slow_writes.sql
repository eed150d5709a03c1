-- Writes the engine applies after the client gave up: every creating call of a run is held
-- past provisioning.http_timeout_ms (3 s) once, and the engine applies it at 3.5 s. No create
-- is ever sent twice while it may still be applied (provisioning.write_settle_ms, 6 s here):
-- the run completes and the engine holds exactly one of everything. A create the engine
-- never applies is sent again only once the settle window has passed.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(7);

\set ignored `$SIMCTL reset slow.localhost`
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "^/api/resource/(Fiscal Year|Company|Customer|POS Profile|POS Opening Entry)$", "action": "delay", "delay_ms": 3500, "times": 5}'`
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "^/api/resource/Warehouse$", "action": "delay", "delay_ms": 3500, "times": 2}'`
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "^/api/resource/Item$", "action": "delay", "delay_ms": 3500, "times": 3}'`
SELECT test.new_engine('slow') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Slow Retail', 'slow', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant', 180), 'COMPLETED', 'the run completes although every create outlived the client''s timeout');
\set requests `$SIMCTL requests slow.localhost`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'fault' = 'delay'),
          10::bigint, 'ten creates were answered too late');
SELECT is((SELECT jsonb_object_agg(path, n) FROM (SELECT r->>'path' AS path, count(*) AS n
             FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'method' = 'POST' GROUP BY 1) p),
          '{"/api/resource/Fiscal%20Year": 1, "/api/resource/Company": 1, "/api/resource/Warehouse": 2,
            "/api/resource/Item": 3, "/api/resource/Customer": 1, "/api/resource/POS%20Profile": 1,
            "/api/resource/POS%20Opening%20Entry": 1}'::jsonb,
          'no create was sent twice');
\set summary `$SIMCTL summary slow.localhost`
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 1, "Company": 1, "Warehouse": 7, "Customer": 1, "POS Profile": 1,
            "POS Opening Entry": 1, "Item": 3}'::jsonb,
          'the engine holds exactly one of everything');

-- A create lost without being applied: looked for until the settle window passed, then sent again.
\set ignored `$SIMCTL reset never.localhost`
\set ignored `$SIMCTL fault '{"site": "never.localhost", "method": "POST", "path": "^/api/resource/Customer$", "action": "timeout", "delay_ms": 3500, "times": 1}'`
SELECT test.new_engine('never') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Never Retail', 'never') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant', 120), 'COMPLETED', 'a create the engine dropped is made by a later attempt');
\set requests `$SIMCTL requests never.localhost`
SELECT cmp_ok((SELECT max((r->>'t_start')::float) - min((r->>'t_start')::float)
                 FROM jsonb_array_elements(:'requests'::jsonb) r
                WHERE r->>'method' = 'POST' AND r->>'path' = '/api/resource/Customer'),
              '>=', 5.9::float8, 'the customer was sent again only after provisioning.write_settle_ms (less the trip to the engine)');
\set summary `$SIMCTL summary never.localhost`
SELECT is((:'summary'::jsonb->>'Customer')::int, 1, 'exactly one customer');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
