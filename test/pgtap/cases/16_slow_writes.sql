-- Writes the engine applies after the client gave up: every creating call of a run is held
-- past provisioning.http_timeout_ms (3 s) once, and the engine applies it at 3.5 s. No create
-- is ever sent twice while it may still be applied (provisioning.write_settle_ms, 6 s here):
-- the run completes and the engine holds exactly one of everything. A create the engine
-- never applies is sent again only once the settle window has passed.
\set eng slow:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
-- Odoo's creates: the company, the chart, the warehouses, the products, the customer, the session
\set ignored `$SIMCTL odoo fault '{"db": "slow_odoo", "method": "object.execute_kw", "pattern": "(res.company create|account.chart.template try_loading|res.partner create|pos.config open_ui)$", "action": "delay", "delay_ms": 3500, "times": 4}'`
-- the warehouses and the products are made in one create of a list each
\set ignored `$SIMCTL odoo fault '{"db": "slow_odoo", "method": "object.execute_kw stock.warehouse create", "action": "delay", "delay_ms": 3500, "times": 1}'`
\set ignored `$SIMCTL odoo fault '{"db": "slow_odoo", "method": "object.execute_kw product.template create", "action": "delay", "delay_ms": 3500, "times": 1}'`
\set late 6
\set creates '{"res.company create": 1, "account.chart.template try_loading": 1, "stock.warehouse create": 1, "product.template create": 1, "res.partner create": 1, "pos.config open_ui": 1}'
\else
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "^/api/resource/(Fiscal Year|Company|Customer|POS Profile|POS Opening Entry)$", "action": "delay", "delay_ms": 3500, "times": 5}'`
-- the warehouses and the demo items are made in one insert_many each
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "insert_many$", "doctype": "Warehouse", "action": "delay", "delay_ms": 3500, "times": 1}'`
\set ignored `$SIMCTL fault '{"site": "slow.localhost", "method": "POST", "path": "insert_many$", "doctype": "Item", "action": "delay", "delay_ms": 3500, "times": 1}'`
\set late 7
\set creates '{"Fiscal Year": 1, "Company": 1, "Warehouse": 1, "Item": 1, "Customer": 1, "POS Profile": 1, "POS Opening Entry": 1}'
\endif
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Slow Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant', 180), 'COMPLETED', :'kind' || ': the run completes although every create outlived the client''s timeout');
\set requests `$SIMCTL :sim requests :eng:host`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'fault' = 'delay'),
          :late::bigint, :'kind' || ': ' || :late || ' creates were answered too late');
-- every creating request, by what it creates: ERPNext's POSTs by doctype, Odoo's calls by model and method
SELECT is((SELECT jsonb_object_agg(what, n) FROM (SELECT coalesce(r->>'model' || ' ' || (r->>'model_method'), r->>'doctype') AS what,
                                                          count(*) AS n
             FROM jsonb_array_elements(:'requests'::jsonb) r
            WHERE r->>'method' = 'POST' OR r->>'model_method' IN ('create', 'try_loading', 'open_ui', 'open_session_cb')
            GROUP BY 1) p),
          :'creates'::jsonb, :'kind' || ': no create was sent twice');
\ir one_of_everything.sql

-- A create lost without being applied: looked for until the settle window passed, then sent again.
\set never never:tag
\set ignored `$SIMCTL :sim reset :never:host`
\if :odoo
\set ignored `$SIMCTL odoo fault '{"db": "never_odoo", "method": "object.execute_kw res.partner create", "action": "timeout", "delay_ms": 3500, "times": 1}'`
\else
\set ignored `$SIMCTL fault '{"site": "never.localhost", "method": "POST", "path": "^/api/resource/Customer$", "action": "timeout", "delay_ms": 3500, "times": 1}'`
\endif
SELECT test.new_test_engine(:'kind', :'never') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Never Retail', :'never') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant', 120), 'COMPLETED', :'kind' || ': a create the engine dropped is made by a later attempt');
\set requests `$SIMCTL :sim requests :never:host`
SELECT cmp_ok((SELECT max((r->>'t_start')::float) - min((r->>'t_start')::float)
                 FROM jsonb_array_elements(:'requests'::jsonb) r
                WHERE (r->>'method' = 'POST' AND r->>'path' = '/api/resource/Customer')
                   OR r->>'rpc' = 'object.execute_kw res.partner create'),
              '>=', 5.9::float8, :'kind' || ': the customer was sent again only after provisioning.write_settle_ms (less the trip to the engine)');
\set summary `$SIMCTL :sim summary :never:host`
SELECT is((:'summary'::jsonb->>CASE :'kind' WHEN 'odoo' THEN 'res.partner Walk-In Customer' ELSE 'Customer' END)::int, 1,
          :'kind' || ': exactly one customer');

\set ignored `$SIMCTL :sim clear`
