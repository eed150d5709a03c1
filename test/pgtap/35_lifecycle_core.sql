-- The lifecycle operations' core (issue 20) on ERPNext: what each operation refuses (a
-- lifecycle type named to provision_start: 22023; a tenant status the operation does not
-- start from: PT409 naming it; a member asking for an admin's operation: 42501), and a
-- suspend, resume, suspend round trip of a provisioned tenant with sales in its session,
-- the second suspend with its answers lost: one closing entry per suspend with the
-- session's invoices, the session closed and the profile disabled, then enabled with a new
-- session; the tenant's statuses and the audit along the way.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(42);

CREATE ROLE life35_member NOLOGIN IN ROLE provisioning_user;
CREATE ROLE life35_admin NOLOGIN IN ROLE provisioning_admin;

-- The simulated site's documents of a doctype (its control API)
CREATE TEMP TABLE fetched (doc text);
CREATE FUNCTION pg_temp.docs(doctype text) RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    out text;
BEGIN
    TRUNCATE fetched;
    -- one line of JSON, read as one field whatever it holds
    EXECUTE format('COPY fetched FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sSf --max-time 30 "%s/docs?site=life35.localhost&doctype=%s" | tr -d ''\n''',
                          current_setting('test.sim_control'), replace(doctype, ' ', '%20')));
    SELECT doc INTO out FROM fetched;
    RETURN out::jsonb->'data';
END
$$;

-- The latest audit row of the tenant as "action actor reason"
CREATE FUNCTION pg_temp.last_audit(tenant uuid) RETURNS text LANGUAGE sql AS
$$ SELECT concat_ws(' ', a.action, a.actor, a.reason) FROM provisioning.audit a
    WHERE a.tenant_id = tenant ORDER BY a.at DESC, a.id DESC LIMIT 1 $$;

CREATE FUNCTION pg_temp.refusal(tenant uuid, status text, operation text) RETURNS text LANGUAGE sql AS
$$ SELECT format('tenant %s is %s: a %s run cannot start from that status', tenant, status, operation) $$;

\set ignored `$SIMCTL reset life35.localhost`
\set sim_control `echo "$SIM_CONTROL"`
SELECT set_config('test.sim_control', :'sim_control', false) IS NOT NULL AS control;
SELECT test.new_engine('life35') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Lifecycle Retail', 'life35', '{"include_demo_data": true}') RETURNING id AS tenant \gset
RESET provisioning.auto_start;
INSERT INTO provisioning.tenant_members VALUES (:'tenant', 'alice35', 'owner');

-- Refusals before anything was provisioned
SELECT throws_ok(format('SELECT provisioning.provision_start(%L, ''{"provisioning_type": "SUSPEND"}'')', :'tenant'),
                 '22023', 'option "provisioning_type" must be FULL_POS or BASIC',
                 'provision_start refuses a lifecycle operation as provisioning_type');
SELECT throws_ok(format('SELECT provisioning.provision_suspend(%L, NULL)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'NOT_PROVISIONED', 'SUSPEND'), 'a tenant never provisioned: no suspend');
SELECT throws_ok(format('SELECT provisioning.provision_resume(%L)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'NOT_PROVISIONED', 'RESUME'), 'no resume');
SELECT throws_ok(format('SELECT provisioning.provision_offboard(%L, NULL)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'NOT_PROVISIONED', 'OFFBOARD'), 'no offboard');
SELECT throws_ok(format('SELECT provisioning.provision_verify(%L)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'NOT_PROVISIONED', 'VERIFY'), 'no verify');
SELECT is(test.as_login('postgres', 'life35_member', '{"sub": "alice35"}',
                        format('SELECT provisioning.provision_suspend(%L, NULL)', :'tenant')),
          'SQLSTATE 42501', 'a member may not suspend its tenant');
SELECT is(test.as_login('postgres', 'life35_member', '{"sub": "alice35"}',
                        format('SELECT provisioning.provision_resume(%L)', :'tenant')),
          'SQLSTATE 42501', 'nor resume it');
SELECT is(test.as_login('postgres', 'life35_member', '{"sub": "alice35"}',
                        format('SELECT provisioning.provision_offboard(%L, NULL)', :'tenant')),
          'SQLSTATE 42501', 'nor offboard it');
SELECT is(test.as_login('postgres', 'life35_admin', '{"sub": "root35"}',
                        format('SELECT provisioning.provision_suspend(%L, NULL)', :'tenant')),
          'SQLSTATE PT409', 'an admin gets past the access check (to the status''s refusal)');

-- Provisioned, with three sales in its open session
SELECT is(provisioning.provision_start(:'tenant')->>'provisioning_type', 'FULL_POS', 'provisioning queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'provisioned');
SELECT is(test.as_login('postgres', 'life35_member', '{"sub": "alice35"}',
                        format('SELECT provisioning.provision_verify(%L)->>''provisioning_type''', :'tenant')),
          'VERIFY', 'a member may ask for a verify (rolled back)');
SELECT throws_ok(format('SELECT provisioning.provision_resume(%L)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'PROVISIONED', 'RESUME'), 'a provisioned tenant is not resumed');
\set sales `$SIMCTL pos-sales life35.localhost 'Lifecycle Retail' 3`
SELECT is(jsonb_array_length(:'sales'::jsonb->'invoices'), 3, 'three sales in the open session');
SELECT :'sales'::jsonb->>'opening_entry' AS first_session \gset

-- Suspend: one run at a time; the tenant stays PROVISIONED while it runs
BEGIN;
SELECT is(d->>'provisioning_type' || ' ' || (d->>'tenant_status'), 'SUSPEND PROVISIONED',
          'a suspend is queued; the tenant is PROVISIONED until it completes')
  FROM provisioning.provision_suspend(:'tenant', 'unpaid invoice') d;
SELECT throws_ok(format('SELECT provisioning.provision_suspend(%L, NULL)', :'tenant'), 'PT409', NULL,
                 'a second operation while one is queued: PT409');
ROLLBACK;
SELECT provisioning.provision_suspend(:'tenant', 'unpaid invoice') IS NOT NULL AS suspending;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the suspend completes');
SELECT is(test.wait_tenant(:'tenant', 'SUSPENDED'), 'SUSPENDED', 'the tenant is SUSPENDED');
SELECT cmp_ok((SELECT tenants_suspended FROM provisioning.metrics WHERE engine IS NULL AND step IS NULL), '>=', 1::bigint,
              'the metrics count the suspended tenants');
SELECT is(test.step_statuses(:'tenant'),
          '{"suspend_1_close_session": "completed", "suspend_2_disable_pos": "completed"}',
          'both steps did their work');
SELECT is(pg_temp.last_audit(:'tenant'), 'suspend postgres unpaid invoice', 'audited: suspend, who, why');
SELECT pg_temp.docs('POS Closing Entry') AS closings \gset
SELECT is(jsonb_array_length(:'closings'), 1, 'one closing entry');
SELECT is((SELECT c->>'pos_opening_entry' || ' ' || (c->>'docstatus') || ' ' || jsonb_array_length(c->'pos_transactions')
             FROM jsonb_array_elements(:'closings') c),
          :'first_session' || ' 1 3', 'it closes the session, submitted, with its three sales');
SELECT is((SELECT string_agg(e->>'status', ',') FROM jsonb_array_elements(pg_temp.docs('POS Opening Entry')) e),
          'Closed', 'the session is closed');
SELECT is((SELECT (p->>'disabled')::int FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p), 1,
          'the POS profile is disabled');
SELECT throws_ok(format('SELECT provisioning.provision_suspend(%L, NULL)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'SUSPENDED', 'SUSPEND'), 'a suspended tenant is not suspended again');
SELECT throws_ok(format('SELECT provisioning.provision_start(%L)', :'tenant'), 'PT409',
                 pg_temp.refusal(:'tenant', 'SUSPENDED', 'FULL_POS'), 'nor provisioned: it is resumed');

-- Resume: the profile enabled, a new session on it, recorded for the next operations
SELECT is(provisioning.provision_resume(:'tenant')->>'tenant_status', 'SUSPENDED', 'a resume is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the resume completes');
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED'), 'PROVISIONED', 'the tenant is PROVISIONED again');
SELECT is(pg_temp.last_audit(:'tenant'), 'resume postgres', 'audited: resume');
SELECT is((SELECT (p->>'disabled')::int FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p), 0,
          'the POS profile is enabled');
SELECT e->>'name' AS second_session FROM jsonb_array_elements(pg_temp.docs('POS Opening Entry')) e
 WHERE e->>'status' = 'Open' \gset
SELECT isnt(:'second_session'::text, :'first_session', 'a new session is open');
SELECT is((SELECT provisioning_metadata->>'pos_opening_entry' FROM provisioning.tenant_onboarding
            WHERE tenant_id = :'tenant' ORDER BY created_at DESC LIMIT 1),
          :'second_session', 'the run records the new session for the next operations');

-- Suspend again, two sales later, every write's answer lost once: still one closing entry
\set sales `$SIMCTL pos-sales life35.localhost 'Lifecycle Retail' 2`
\set ignored `$SIMCTL fault '[{"site": "life35.localhost", "method": "POST", "doctype": "POS Closing Entry", "action": "drop_after_commit"}, {"site": "life35.localhost", "method": "PUT", "doctype": "POS Profile", "action": "drop_after_commit"}]'`
SELECT provisioning.provision_suspend(:'tenant', 'closing season') IS NOT NULL AS suspending;
SELECT is(test.wait_final(:'tenant', 90), 'COMPLETED', 'the second suspend completes, its answers lost');
SELECT is(test.wait_tenant(:'tenant', 'SUSPENDED'), 'SUSPENDED', 'the tenant is SUSPENDED again');
SELECT is((SELECT string_agg(format('%s %s %s', e->>'step', e->>'status', e->>'attempts'), ', ')
             FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e),
          'suspend_1_close_session completed 1, suspend_2_disable_pos completed 2',
          'the closing entry whose answer was lost found on re-check, the lost disable read back next attempt');
SELECT pg_temp.docs('POS Closing Entry') AS closings \gset
SELECT is(jsonb_array_length(:'closings'), 2, 'one more closing entry, not two');
SELECT is((SELECT jsonb_array_length(c->'pos_transactions') FROM jsonb_array_elements(:'closings') c
            WHERE c->>'pos_opening_entry' = :'second_session'),
          2, 'it closes the new session with its two sales');
SELECT is((SELECT count(*) FROM jsonb_array_elements(pg_temp.docs('POS Opening Entry')) e WHERE e->>'status' = 'Open'),
          0::bigint, 'no session is open');
SELECT is((SELECT (p->>'disabled')::int FROM jsonb_array_elements(pg_temp.docs('POS Profile')) p), 1,
          'the POS profile is disabled again');
SELECT is((SELECT string_agg(action, ',' ORDER BY at, id) FROM provisioning.audit WHERE tenant_id = :'tenant'),
          'start,suspend,resume,suspend', 'the audit: each request once, the refused and rolled-back ones not');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
