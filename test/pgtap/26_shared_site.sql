-- One ERPNext site, many tenants (issue 17): Stock Settings and Selling Settings are Singles,
-- one per site, shared by every company on it. A run fills only their empty fields; a field
-- set before (by another tenant's run, or by the site's own setup) is left as it is, and the
-- step's message says so. Two runs that fill a fresh site at the same moment do not
-- overwrite each other: the later write is refused by the engine and its step reads again.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(20);

CREATE FUNCTION pg_temp.step5(tenant uuid) RETURNS text LANGUAGE sql AS
$$ SELECT e->>'message' FROM jsonb_array_elements(provisioning.provision_status(tenant)->'steps') e
    WHERE e->>'step' = 'step_5_settings' $$;
-- ERPNext opens one POS session per cashier: each tenant after a site's first has its own
\set sim_api 'curl -sSf --max-time 30 -H "Authorization: token simkey:simsecret" -H "Content-Type: application/json"'
CREATE FUNCTION pg_temp.singles(summary jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('Stock Settings', summary->'Stock Settings', 'Selling Settings', summary->'Selling Settings') $$;

-- A fresh site gets the values set
\set ignored `$SIMCTL reset shared.localhost`
SELECT test.new_engine('shared') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Shared First', 'shared') RETURNING id AS first \gset
SELECT is(test.wait_final(:'first'), 'COMPLETED', 'the first tenant on a fresh site completes');
\set summary `$SIMCTL summary shared.localhost`
SELECT is(pg_temp.singles(:'summary'),
          '{"Stock Settings": {"default_warehouse": "Main Store - SF", "valuation_method": "FIFO",
                               "stock_uom": "Nos", "allow_negative_stock": 1},
            "Selling Settings": {"customer_group": "Individual", "territory": "All Territories",
                                 "selling_price_list": "Standard Selling"}}'::jsonb,
          'a fresh site''s Stock and Selling Settings get the run''s values');
SELECT is(pg_temp.step5(:'first'),
          'Stock Settings: default_warehouse set to "Main Store - SF", allow_negative_stock set to "1"; '
          'Selling Settings: customer_group set to "Individual", territory set to "All Territories", '
          'selling_price_list set to "Standard Selling"',
          '...and the step says what it set');
SELECT pg_temp.singles(:'summary') AS first_singles \gset

-- A second tenant (another company) on the same engine leaves them as the first left them
\set ignored `:sim_api -H 'Host: shared.localhost' -d '{"email": "second@example.com", "enabled": 1}' "http://127.0.0.1:$SIM_PORT/api/resource/User"`
\set ignored `:sim_api -H 'Host: shared.localhost' -d '{"email": "third@example.com", "enabled": 1}' "http://127.0.0.1:$SIM_PORT/api/resource/User"`
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Shared Second', 'shared', '{"pos_user": "second@example.com"}') RETURNING id AS second \gset
SELECT is(test.wait_final(:'second'), 'COMPLETED', 'a second tenant on the same site completes');
\set summary `$SIMCTL summary shared.localhost`
SELECT is(pg_temp.singles(:'summary'), :'first_singles'::jsonb,
          'the site''s Stock and Selling Settings still hold the first tenant''s values');
SELECT is(pg_temp.step5(:'second'),
          'Stock Settings: default_warehouse left as "Main Store - SF" (site-wide, set before); '
          'Selling Settings: as wanted',
          'the second run''s step says what it left as it was');
SELECT is(test.step_statuses(:'second')->>'step_5_settings', 'exists', '...and reports the step as existing');
SELECT is(provisioning_metadata->>'pos_warehouse', 'POS Store - SS',
          'the second tenant''s POS works from its own store')
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'second' ORDER BY created_at DESC LIMIT 1;
\set requests `$SIMCTL requests shared.localhost`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r
            WHERE r->>'correlation_id' = provisioning.provision_status(:'second')->>'correlation_id'
              AND r->>'method' = 'PUT' AND r->>'path' ~ 'Settings'), 0::bigint,
          'the second run wrote neither document');

-- Another engine row for the same site: the same site, the same rule
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
SELECT 'shared_too', kind, base_url, 'simkey', 'simsecret' FROM provisioning.engines WHERE name = 'shared';
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Shared Third', 'shared_too', '{"pos_user": "third@example.com"}') RETURNING id AS third \gset
SELECT is(test.wait_final(:'third'), 'COMPLETED', 'a tenant of another engine row on the same site completes');
\set summary `$SIMCTL summary shared.localhost`
SELECT is(pg_temp.singles(:'summary'), :'first_singles'::jsonb, '...and the site''s settings are still the first''s');

-- Field by field: what the site's own setup set stays, the empty fields are filled
\set ignored `$SIMCTL reset wizard.localhost`
\set ignored `:sim_api -X PUT -H 'Host: wizard.localhost' -d '{"customer_group": "Commercial"}' "http://127.0.0.1:$SIM_PORT/api/resource/Selling%20Settings/Selling%20Settings"`
\set ignored `:sim_api -X PUT -H 'Host: wizard.localhost' -d '{"valuation_method": "Moving Average"}' "http://127.0.0.1:$SIM_PORT/api/resource/Stock%20Settings/Stock%20Settings"`
SELECT test.new_engine('wizard') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Wizard Retail', 'wizard') RETURNING id AS wizard \gset
SELECT is(test.wait_final(:'wizard'), 'COMPLETED', 'a run on a site whose setup set some fields completes');
\set summary `$SIMCTL summary wizard.localhost`
SELECT is(pg_temp.singles(:'summary'),
          '{"Stock Settings": {"default_warehouse": "Main Store - WR", "valuation_method": "Moving Average",
                               "stock_uom": "Nos", "allow_negative_stock": 1},
            "Selling Settings": {"customer_group": "Commercial", "territory": "All Territories",
                                 "selling_price_list": "Standard Selling"}}'::jsonb,
          'the fields set before keep their values, the empty ones get the run''s');
SELECT is(pg_temp.step5(:'wizard'),
          'Stock Settings: default_warehouse set to "Main Store - WR", allow_negative_stock set to "1", '
          'valuation_method left as "Moving Average" (site-wide, set before); '
          'Selling Settings: territory set to "All Territories", selling_price_list set to "Standard Selling", '
          'customer_group left as "Commercial" (site-wide, set before)',
          '...and the step says which it set and which it left');

-- Two runs filling a fresh site at once: the engine holds Race Alpha's write of the Stock
-- Settings while Race Beta reads and writes them; Alpha's write, made from an older read, is
-- then refused (TimestampMismatchError), and its step reads again and leaves Beta's values.
\set ignored `$SIMCTL reset siterace26.localhost`
\set ignored `:sim_api -H 'Host: siterace26.localhost' -d '{"email": "beta@example.com", "enabled": 1}' "http://127.0.0.1:$SIM_PORT/api/resource/User"`
\set ignored `$SIMCTL fault '{"site": "siterace26.localhost", "method": "PUT", "path": "^/api/resource/Stock Settings", "action": "delay", "delay_ms": 2500, "times": 1}'`
SELECT test.new_engine('siterace26') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Race Alpha', 'siterace26') RETURNING id AS alpha \gset
\set ignored `$WAIT_FOR 'Race Alpha in step 5' "SELECT test.step_statuses(id)->>'step_5_settings' = 'running' FROM provisioning.tenants WHERE name = 'Race Alpha'"`
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Race Beta', 'siterace26', '{"pos_user": "beta@example.com"}') RETURNING id AS beta \gset
SELECT is(test.wait_final(:'beta'), 'COMPLETED', 'the run that wrote second completes');
SELECT is(test.wait_final(:'alpha'), 'COMPLETED', 'the run whose write was held completes');
\set summary `$SIMCTL summary siterace26.localhost`
SELECT is(:'summary'::jsonb->'Stock Settings'->>'default_warehouse', 'Main Store - RB',
          'the site keeps the write that landed first');
SELECT is(pg_temp.step5(:'alpha'),
          'Stock Settings: default_warehouse left as "Main Store - RB" (site-wide, set before); '
          'Selling Settings: as wanted',
          'the held run read again and left it');
\set requests `$SIMCTL requests siterace26.localhost`
SELECT is((SELECT array_agg(r->>'status' ORDER BY (r->>'seq')::int) FROM jsonb_array_elements(:'requests'::jsonb) r
            WHERE r->>'correlation_id' = provisioning.provision_status(:'alpha')->>'correlation_id'
              AND r->>'method' = 'PUT' AND r->>'path' ~ 'Stock'), '{417}'::text[],
          'its one write of the Stock Settings was refused as stale');
SELECT is((SELECT (e->>'attempts')::int FROM jsonb_array_elements(provisioning.provision_status(:'alpha')->'steps') e
            WHERE e->>'step' = 'step_5_settings'), 2, '...and the step took a second attempt');

SELECT * FROM finish();
