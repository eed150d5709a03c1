-- ERPNext's VERIFY and OFFBOARD (spec section 12): a verify of a healthy tenant finds
-- everything as recorded and changes nothing; documents changed in the engine behind the
-- provisioning's back (a warehouse deleted, another warehouse on the POS profile, the
-- customer deleted; then the profile and a warehouse disabled, the session closed) fail
-- their steps, each message naming what differs; provision_start repairs exactly that (the
-- engine's counts before and after) and the next verify completes. Then an offboarding of
-- the tenant with 300 sales: every document of its company exported whole once, counted
-- against the engine, warehouses and profile disabled, nothing deleted; and a resume
-- afterwards enables them again.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(40);

-- The simulated ERPNext's control API: GET path with the site and args (url-encoded)
CREATE TEMP TABLE fetched (doc text);
CREATE FUNCTION pg_temp.control(path text, args jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    q   text := '';
    k   text;
    v   text;
    out text;
BEGIN
    FOR k, v IN SELECT * FROM jsonb_each_text(args || '{"site": "erp37.localhost"}') LOOP
        q := q || format(' --data-urlencode %s', quote_literal(k || '=' || v));
    END LOOP;
    TRUNCATE fetched;
    -- one line of JSON, read as one field whatever it holds
    EXECUTE format('COPY fetched FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sSf --max-time 30 -G %s%s | tr -d ''\n''',
                          quote_literal(current_setting('test.sim_control') || path), q));
    SELECT doc INTO out FROM fetched;
    RETURN out::jsonb;
END
$$;
CREATE FUNCTION pg_temp.docs(doctype text) RETURNS jsonb LANGUAGE sql AS
$$ SELECT pg_temp.control('/docs', jsonb_build_object('doctype', doctype))->'data' $$;
-- the engine's count of a doctype's documents of the tenant's company
CREATE FUNCTION pg_temp.company_count(doctype text) RETURNS bigint LANGUAGE sql AS
$$ SELECT (pg_temp.control('/count', jsonb_build_object('doctype', doctype,
                                                        'filters', '[["company", "=", "Verify Retail"]]'))->>'count')::bigint $$;
-- what a provisioning run creates, counted (the simulator's summary, without the settings)
CREATE FUNCTION pg_temp.summary() RETURNS jsonb LANGUAGE sql AS
$$ SELECT pg_temp.control('/summary') - 'Stock Settings' - 'Selling Settings' $$;
-- the failed steps of the tenant's latest run with their messages
CREATE FUNCTION pg_temp.failures(tenant uuid) RETURNS jsonb LANGUAGE sql AS
$$ SELECT coalesce(jsonb_object_agg(e->>'step', e->>'message'), '{}')
     FROM jsonb_array_elements(provisioning.provision_status(tenant)->'steps') e WHERE e->>'status' = 'failed' $$;
CREATE FUNCTION pg_temp.latest_run(tenant uuid) RETURNS uuid LANGUAGE sql AS
$$ SELECT id FROM provisioning.tenant_onboarding WHERE tenant_id = tenant ORDER BY created_at DESC LIMIT 1 $$;

\set ignored `$SIMCTL reset erp37.localhost`
\set sim_control `echo "$SIM_CONTROL"`
SELECT set_config('test.sim_control', :'sim_control', false) IS NOT NULL AS control;
SELECT test.new_engine('erp37') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Verify Retail', 'erp37', '{"include_demo_data": true}') RETURNING id AS tenant \gset
RESET provisioning.auto_start;
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS provisioning;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'provisioned');
SELECT pg_temp.summary() AS provisioned \gset

-- A healthy tenant: every check finds its document, nothing is written
SELECT is(provisioning.provision_verify(:'tenant')->>'provisioning_type', 'VERIFY', 'a verify is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the verify completes');
SELECT is(test.step_statuses(:'tenant'), test.all_steps('exists', '{}', 'VERIFY'), 'every step found as recorded');
SELECT is((SELECT provisioning_status FROM provisioning.tenants WHERE id = :'tenant'), 'PROVISIONED',
          'the tenant status is unchanged');
\set sim_requests `$SIMCTL requests erp37.localhost`
SELECT is(test.write_requests('erpnext', (SELECT jsonb_agg(r) FROM jsonb_array_elements(:'sim_requests'::jsonb) r
                                            WHERE r->>'correlation_id' = (provisioning.provision_status(:'tenant')->>'correlation_id'))),
          0::bigint, 'the verify sent no write');

-- Drift: Main Store deleted, the profile on another warehouse, the customer deleted
\set ignored `$SIMCTL api erp37.localhost DELETE '/api/resource/Warehouse/Main Store - VR'`
\set ignored `$SIMCTL api erp37.localhost PUT '/api/resource/POS Profile/Verify Retail POS' '{"warehouse": "Stores - VR"}'`
\set ignored `$SIMCTL api erp37.localhost DELETE '/api/resource/Customer/Walk-In Customer'`
SELECT pg_temp.summary() AS drifted \gset
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'FAILED', 'the verify fails');
SELECT is(pg_temp.failures(:'tenant'),
          '{"step_4_warehouses": "warehouse Main Store - VR is missing",
            "step_7_customer": "customer Walk-In Customer is missing",
            "step_8_pos_profile": "POS profile Verify Retail POS has warehouse Stores - VR instead of POS Store - VR"}',
          'each changed document named in its step''s message');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_4_warehouses": "failed", "step_7_customer": "failed", "step_8_pos_profile": "failed"}', 'VERIFY'),
          'the other steps found theirs');
SELECT is((SELECT provisioning_status FROM provisioning.tenants WHERE id = :'tenant'), 'PROVISIONED',
          'a failed verify leaves the tenant status as it was');

-- The repair: the missing ones made, the profile set back, the rest exists
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS repairing;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'provision_start repairs');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_4_warehouses": "completed", "step_7_customer": "completed", "step_8_pos_profile": "completed"}'),
          'only the three steps wrote');
SELECT is(:'drifted'::jsonb, :'provisioned'::jsonb || '{"Warehouse": 6, "Customer": 0}', 'the drift took one warehouse and the customer');
SELECT is(pg_temp.summary(), :'provisioned'::jsonb, 'exactly those made again: the engine''s counts are as provisioned');
SELECT is((SELECT p->>'warehouse' FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p), 'POS Store - VR',
          'the profile is on its warehouse again');
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the next verify completes');

-- Drift again: the session closed, then the profile and POS Store disabled
SELECT e->>'name' AS first_session FROM jsonb_array_elements(pg_temp.docs('POS Opening Entry')) e \gset
\set first_session_body '{"pos_opening_entry": "' :first_session '", "company": "Verify Retail", "docstatus": 1}'
\set ignored `$SIMCTL api erp37.localhost POST '/api/resource/POS Closing Entry' :'first_session_body'`
\set ignored `$SIMCTL api erp37.localhost PUT '/api/resource/POS Profile/Verify Retail POS' '{"disabled": 1}'`
\set ignored `$SIMCTL api erp37.localhost PUT '/api/resource/Warehouse/POS Store - VR' '{"disabled": 1}'`
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'FAILED', 'the verify fails');
SELECT is(pg_temp.failures(:'tenant'),
          jsonb_build_object('step_4_warehouses', 'warehouse POS Store - VR is disabled',
                             'step_8_pos_profile', 'POS profile Verify Retail POS is disabled',
                             'step_9_pos_session', format('POS opening entry %s is Closed, not open', :'first_session')),
          'the disabled warehouse and profile and the closed session named');
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS repairing;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'provision_start repairs');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_4_warehouses": "completed", "step_8_pos_profile": "completed", "step_9_pos_session": "completed"}'),
          'the warehouse and the profile enabled, a session opened; the rest exists');
SELECT is(pg_temp.summary(), :'provisioned'::jsonb || '{"POS Opening Entry": 2}', 'one document more: the new session');
SELECT is((SELECT string_agg(concat_ws(' ', w->>'name', w->>'disabled'), ', ')
             FROM jsonb_array_elements(pg_temp.docs('Warehouse')) w WHERE w->>'name' = 'POS Store - VR')
          || ', ' || (SELECT (p->>'disabled') FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p),
          'POS Store - VR 0, 0', 'the warehouse and the profile are enabled');
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the next verify completes');

-- Offboarding a tenant with 300 sales
\set sales `$SIMCTL pos-sales erp37.localhost 'Verify Retail' 300`
SELECT pg_temp.summary() AS before_offboard \gset
SELECT provisioning.provision_offboard(:'tenant', 'contract ended') IS NOT NULL AS offboarding;
SELECT is(test.wait_final(:'tenant', 120), 'COMPLETED', 'the offboarding completes');
SELECT is(test.wait_tenant(:'tenant', 'OFFBOARDED'), 'OFFBOARDED', 'the tenant is OFFBOARDED');
SELECT is(test.step_statuses(:'tenant'), test.all_steps('completed', '{}', 'OFFBOARD'), 'every step did its work');
SELECT pg_temp.latest_run(:'tenant') AS offboard_run \gset
SELECT is((SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM provisioning.tenant_exports
                                                     WHERE run_id = :'offboard_run' GROUP BY kind) k),
          (SELECT jsonb_object_agg(d, pg_temp.company_count(d))
             FROM unnest('{Account,Warehouse,POS Profile,POS Opening Entry,POS Closing Entry,POS Invoice,Sales Invoice}'::text[]) d)
          || '{"Company": 1, "Fiscal Year": 1, "Customer": 1, "Item": 3}',
          'each kind exported as many times as the engine counts it');
SELECT is((SELECT count(*) FROM provisioning.tenant_exports e
            WHERE e.run_id = :'offboard_run' AND e.kind = 'POS Invoice'
              AND e.key IN (SELECT jsonb_array_elements_text(:'sales'::jsonb->'invoices'))
              AND jsonb_array_length(e.document->'items') BETWEEN 1 AND 3
              AND jsonb_array_length(e.document->'payments') = 1
              AND e.document->>'company' = 'Verify Retail'),
          300::bigint, 'every sale exported whole: its lines and its payment');
SELECT is((SELECT sum(jsonb_array_length(document->'items')) FROM provisioning.tenant_exports
            WHERE run_id = :'offboard_run' AND kind = 'Sales Invoice'),
          (SELECT sum(jsonb_array_length(document->'items')) FROM provisioning.tenant_exports
            WHERE run_id = :'offboard_run' AND kind = 'POS Invoice'),
          'the consolidated sales invoice carries every line');
SELECT is((SELECT count(DISTINCT key) FROM provisioning.tenant_exports WHERE run_id = :'offboard_run'),
          (SELECT count(*) FROM provisioning.tenant_exports WHERE run_id = :'offboard_run'),
          'no key twice');
SELECT is((SELECT string_agg(DISTINCT w->>'disabled', ',') FROM jsonb_array_elements(pg_temp.docs('Warehouse')) w
            WHERE w->>'company' = 'Verify Retail')
          || ' ' || (SELECT (p->>'disabled') FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p),
          '1 1', 'every warehouse of the company and the profile are disabled');
SELECT is(pg_temp.summary(), :'before_offboard'::jsonb, 'nothing deleted (nor made) of what the provisioning made');
\set sim_requests `$SIMCTL requests erp37.localhost`
SELECT cmp_ok((SELECT count(*) FROM jsonb_array_elements(:'sim_requests'::jsonb) r
                WHERE r->>'correlation_id' = (provisioning.provision_status(:'tenant')->>'correlation_id')),
              '<', 500::bigint, 'a few hundred requests: a page list each 100 documents, one read each');
SELECT cmp_ok((SELECT (e->>'duration_ms')::float8 FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e
                WHERE e->>'step' = 'offboard_3_export'), '<', 10000::float8, 'the export took seconds');

-- Resume after the offboarding: what it disabled enabled again, a new session
SELECT is(provisioning.provision_resume(:'tenant')->>'tenant_status', 'OFFBOARDED', 'a resume is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the resume completes');
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED'), 'PROVISIONED', 'the tenant is PROVISIONED again');
SELECT is((SELECT string_agg(DISTINCT w->>'disabled', ',') FROM jsonb_array_elements(pg_temp.docs('Warehouse')) w
            WHERE w->>'company' = 'Verify Retail')
          || ' ' || (SELECT (p->>'disabled') FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p),
          '0 0', 'the warehouses and the profile are enabled again');
SELECT is((SELECT count(*) FROM jsonb_array_elements(pg_temp.docs('POS Opening Entry')) e WHERE e->>'status' = 'Open'),
          1::bigint, 'a session is open');
SELECT provisioning.provision_verify(:'tenant') IS NOT NULL AS verifying;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'a verify after the resume completes');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
