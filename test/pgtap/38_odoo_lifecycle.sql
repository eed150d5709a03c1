-- The lifecycle operations on Odoo, for each version the simulated Odoo serves (16, 17, 18:
-- cases/odoo_lifecycle.sql's round trip); then, on 17: VERIFY of a healthy tenant, and of
-- one whose engine drifted (a warehouse archived, the POS config archived and moved to
-- another warehouse, the customer deleted), each check naming what it found; provision_start
-- repairs only that; an offboarding of a few hundred sales exports every order with its
-- lines exactly as the engine counts them. The engine's state is read through the
-- simulator's control API (/records: every record, unfiltered; /requests: the calls).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 31 + 22);

\set odoo_control `echo "$ODOO_SIM_CONTROL"`
SELECT set_config('test.odoo_control', :'odoo_control', false) IS NOT NULL AS control;

-- The simulated database's records of a model matching a domain (a JSON list without ')
CREATE TEMP TABLE fetched (doc text);
CREATE FUNCTION pg_temp.fetch(command text) RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    out text;
BEGIN
    TRUNCATE fetched;
    -- one line of JSON, read as one field whatever it holds
    EXECUTE format('COPY fetched FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   command || ' | tr -d ''\n''');
    SELECT doc INTO out FROM fetched;
    RETURN out::jsonb;
END
$$;
CREATE FUNCTION pg_temp.records(model text, domain text) RETURNS jsonb LANGUAGE sql AS
$$ SELECT pg_temp.fetch(format('curl -sSf --max-time 30 -G %s/records --data-urlencode db=%s --data-urlencode model=%s --data-urlencode ''domain=%s''',
                               current_setting('test.odoo_control'), current_setting('test.life38_db'), model, domain)) $$;
CREATE FUNCTION pg_temp.active(model text, id int) RETURNS boolean LANGUAGE sql AS
$$ SELECT (r->>'active')::boolean FROM jsonb_array_elements(pg_temp.records(model, format('[["id", "=", %s]]', id))) r $$;
-- The config's sessions' states, oldest first
CREATE FUNCTION pg_temp.session_states(config int) RETURNS text LANGUAGE sql AS
$$ SELECT string_agg(s->>'state', ',' ORDER BY (s->>'id')::int)
     FROM jsonb_array_elements(pg_temp.records('pos.session', format('[["config_id", "=", %s]]', config))) s $$;
-- How many closings the engine was asked for
CREATE FUNCTION pg_temp.closings() RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM jsonb_array_elements(pg_temp.fetch(format('curl -sSf --max-time 30 "%s/requests?db=%s"',
                                                                  current_setting('test.odoo_control'),
                                                                  current_setting('test.life38_db')))) r
    WHERE r->>'model_method' = 'close_session_from_ui' $$;
-- A call as the engine's admin (what a person changes in the engine)
CREATE FUNCTION pg_temp.rpc(model text, method text, args text) RETURNS jsonb LANGUAGE sql AS
$$ SELECT pg_temp.fetch(format('curl -sSf --max-time 30 -H ''Content-Type: application/json'' %s/jsonrpc -d ''{"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object", "method": "execute_kw", "args": ["%s", 2, "simsecret", "%s", "%s", %s, {}]}}''',
                               test.odoo_sim_url(), current_setting('test.life38_db'), model, method, args)) $$;
-- The documents exported for the tenant, counted by kind
CREATE FUNCTION pg_temp.export_counts(tenant uuid) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM provisioning.tenant_exports
                                           WHERE tenant_id = tenant GROUP BY kind) e $$;
-- The engine's records of the company, counted by kind (those it holds any of)
CREATE FUNCTION pg_temp.engine_counts(cid int) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_object_agg(kind, n) FROM (
     SELECT kind, (SELECT count(*) FROM jsonb_array_elements(pg_temp.records(kind, '[]')) x
                    WHERE CASE kind WHEN 'res.company' THEN x->>'id' = cid::text
                                    ELSE x->>'company_id' = cid::text OR coalesce(x->'company_ids' @> to_jsonb(cid), false) END) AS n
       FROM unnest('{res.company,account.account,account.journal,stock.warehouse,product.template,res.partner,pos.payment.method,pos.config,pos.session,pos.order,pos.order.line,pos.payment}'::text[]) kind) c
    WHERE n > 0 $$;

\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 16}'`
\set v 16
\ir cases/odoo_lifecycle.sql
\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 18}'`
\set v 18
\ir cases/odoo_lifecycle.sql
\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 17}'`
\set v 17
\ir cases/odoo_lifecycle.sql

-- VERIFY on 17: a healthy tenant, then one whose engine drifted
\set db life38drift
SELECT test.new_odoo_engine(:'db') IS NOT NULL AS engine;
SELECT set_config('test.life38_db', :'db', false) IS NOT NULL AS db;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Drift Retail', :'db', '{"include_demo_data": true}') RETURNING id AS tenant, name AS company \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'drift: provisioned');
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'a verify of a healthy tenant completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_1_fiscal_year": "skipped"}', 'VERIFY', 'odoo'),
          'every check finds what the provisioning recorded');
SELECT is((SELECT provisioning_status FROM provisioning.tenants WHERE id = :'tenant'), 'PROVISIONED',
          'the verify leaves the tenant''s status');
SELECT provisioning_metadata->>'company_id' AS company_id, provisioning_metadata->>'main_warehouse_id' AS main_store,
       provisioning_metadata->>'pos_warehouse_id' AS pos_store, provisioning_metadata->>'pos_config_id' AS config,
       provisioning_metadata->>'customer_id' AS customer
  FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant' ORDER BY created_at DESC LIMIT 1 \gset
-- the company's third warehouse, made with it
SELECT w->>'id' AS other_store FROM jsonb_array_elements(pg_temp.records('stock.warehouse',
         format('[["company_id", "=", %s]]', :company_id))) w
 WHERE w->>'id' NOT IN (:'main_store', :'pos_store') \gset
SELECT pg_temp.rpc('stock.warehouse', 'write', format('[[%s], {"active": false}]', :main_store)) ? 'result' AS drift_1;
SELECT pg_temp.rpc('pos.config', 'write', format('[[%s], {"active": false, "warehouse_id": %s}]', :config, :other_store)) ? 'result' AS drift_2;
SELECT pg_temp.rpc('res.partner', 'unlink', format('[[%s]]', :customer)) ? 'result' AS drift_3;
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'FAILED', 'a verify of the drifted tenant fails');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_1_fiscal_year": "skipped", "step_4_warehouses": "failed", "step_7_customer": "failed", "step_8_pos_profile": "failed"}',
                         'VERIFY', 'odoo'),
          'the checks of the warehouses, the customer and the POS config fail, the others find theirs');
SELECT is((SELECT jsonb_object_agg(e->>'step', e->>'message') FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e
            WHERE e->>'status' = 'failed'),
          jsonb_build_object('step_4_warehouses', format('warehouse Main Store (stock.warehouse %s) is archived', :main_store),
                             'step_7_customer', format('customer Walk-In Customer (res.partner %s) is missing', :customer),
                             'step_8_pos_profile', format('POS config Drift Retail POS (pos.config %s) is archived; POS config Drift Retail POS (pos.config %s) is on stock.warehouse %s, not the recorded %s',
                                                          :config, :config, :other_store, :pos_store)),
          'each failed check says what it found');
SELECT is((SELECT provisioning_status FROM provisioning.tenants WHERE id = :'tenant'), 'PROVISIONED',
          'a failed verify leaves the tenant''s status too');
SELECT is(provisioning.provision_start(:'tenant')->>'provisioning_type', 'FULL_POS', 'provision_start repairs');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the repair completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_1_fiscal_year": "skipped", "step_4_warehouses": "completed", "step_7_customer": "completed", "step_8_pos_profile": "completed"}',
                         'FULL_POS', 'odoo'),
          'it changes only what the verify found missing or changed');
SELECT is(pg_temp.active('stock.warehouse', :main_store) AND pg_temp.active('pos.config', :config), true,
          'Main Store and the POS config are active again');
SELECT is((SELECT string_agg(c->>'warehouse_id', ',') FROM jsonb_array_elements(pg_temp.records('pos.config',
             format('[["company_id", "=", %s]]', :company_id))) c),
          :'pos_store', 'the company has one POS config, back on POS Store');
SELECT is(jsonb_array_length(pg_temp.records('res.partner', '[["name", "=", "Walk-In Customer"]]')), 1,
          'one walk-in customer, made again');
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'a verify after the repair completes');

-- Offboarding a few hundred sales, the company first a user's default company
\set sales `$SIMCTL odoo pos-sales :db ":company" 300`
SELECT pg_temp.rpc('res.users', 'write', format('[[2], {"company_id": %s}]', :company_id)) ? 'result' AS default_company;
SELECT provisioning.provision_offboard(:'tenant', 'moved away') IS NOT NULL AS offboarding;
SELECT is(test.wait_final(:'tenant', 120), 'FAILED', 'the offboarding fails at the archive');
SELECT is((SELECT e->>'message' FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e
            WHERE e->>'step' = 'offboard_4_archive'),
          'company Drift Retail is the default company of 1 active users (admin): Odoo refuses to archive it; give them another default company, then retry the offboarding',
          'saying whose default company it is');
SELECT is(pg_temp.active('res.company', :company_id), true, 'nothing of the company is archived');
SELECT pg_temp.rpc('res.users', 'write', '[[2], {"company_id": 1}]') ? 'result' AS default_company_back;
SELECT is(provisioning.provision_retry(:'tenant')->>'provisioning_type', 'OFFBOARD', 'the offboarding is retried');
SELECT is(test.wait_final(:'tenant', 120), 'COMPLETED', 'and completes');
SELECT is(pg_temp.export_counts(:'tenant'), pg_temp.engine_counts(:company_id::int),
          'every document exported once, as many of each kind as the engine holds');
SELECT is((SELECT count(*) FROM provisioning.tenant_exports WHERE tenant_id = :'tenant' AND kind = 'pos.order'),
          300::bigint, 'the 300 orders, with their lines and payments');

SELECT * FROM finish();
