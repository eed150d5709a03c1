-- provision_cancel, for each engine kind: a queued run ends at once and nothing reaches the
-- engine; a running one stops at its next step boundary, the request already sent answered
-- and recorded, nothing started after; with steps at once (step workers), every step in
-- flight settles first. The run ends CANCELLED, the tenant back to NOT_PROVISIONED (a first
-- run), and provision_retry goes on from the first step not done to exactly one of everything.
-- With no run queued or running, the status document as it is.

-- Queued: cancelled in the transaction that queued it, before any worker could see it
\set eng haltq:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
BEGIN;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Halted Queued', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT provisioning.provision_cancel(:'tenant', 'ordered by mistake') AS doc \gset
COMMIT;
SELECT is(jsonb_build_object('status', :'doc'::jsonb->'status', 'tenant_status', :'doc'::jsonb->'tenant_status'),
          '{"status": "CANCELLED", "tenant_status": "NOT_PROVISIONED"}',
          :'kind' || ': a queued run ends CANCELLED at once, the tenant NOT_PROVISIONED as before it');
SELECT is((SELECT array_agg(e->>'step') FROM jsonb_array_elements(:'doc'::jsonb->'steps') e
            WHERE e->>'status' NOT IN ('pending', 'skipped') OR e->>'started_at' IS NOT NULL),
          NULL, :'kind' || ': none of its steps started');
SELECT is((SELECT message FROM provisioning.provision_logs(:'tenant') WHERE status = 'CANCELLED'),
          'run cancelled: ordered by mistake', :'kind' || ': the log says the run was cancelled, and why');
SELECT :'doc'::jsonb->>'correlation_id' AS cancelled_run \gset
SELECT is(provisioning.provision_retry(:'tenant')->>'status', 'PENDING', :'kind' || ': provision_retry queues it again');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': and it completes');
\set requests `$SIMCTL :sim requests :eng:host`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'correlation_id' = :'cancelled_run'),
          0::bigint, :'kind' || ': the cancelled run sent the engine nothing');
\ir one_of_everything.sql

-- Running: the company's create is held 1.5 s in the engine; the cancel comes while it is out
\set eng halt:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
\set ignored `$SIMCTL odoo fault '{"db": "halt_odoo", "method": "object.execute_kw res.company create", "action": "delay", "delay_ms": 1500, "times": 1}'`
\else
\set ignored `$SIMCTL fault '{"site": "halt.localhost", "method": "POST", "path": "^/api/resource/Company$", "action": "delay", "delay_ms": 1500, "times": 1}'`
\endif
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Halted Running', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT format($$SELECT provisioning.provision_status(%L)->>'current_step' = 'step_2_company'$$, :'tenant') AS running \gset
\set ignored `$WAIT_FOR 'the company step to run' :'running'`
SELECT provisioning.provision_cancel(:'tenant', 'wrong country')->>'status' AS status_at_cancel \gset
SELECT is(test.wait_final(:'tenant'), 'CANCELLED', :'kind' || ': a running run ends CANCELLED (it was ' || :'status_at_cancel' || ' at the cancel)');
SELECT is(provisioning.provision_status(:'tenant')->>'tenant_status', 'NOT_PROVISIONED',
          :'kind' || ': the tenant is NOT_PROVISIONED again, as before the run');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('pending', jsonb_build_object('step_0_engine_check', 'completed',
                                                       'step_1_fiscal_year', CASE WHEN :'odoo' THEN 'skipped' ELSE 'completed' END,
                                                       'step_2_company', 'completed'),
                         'FULL_POS', :'kind'),
          :'kind' || ': the company''s create, already sent, was waited for and recorded; no step started after it');
SELECT is((SELECT count(*) FROM provisioning.run_log l JOIN provisioning.tenant_onboarding o ON o.id = l.run_id
            WHERE o.tenant_id = :'tenant' AND l.step IS NOT NULL AND l.step <> 'step_2_company'
              AND l.at > o.cancel_requested_at),
          0::bigint, :'kind' || ': nothing else was logged for a step after the cancel');
SELECT is(provisioning.provision_retry(:'tenant')->>'status', 'PENDING', :'kind' || ': provision_retry queues it again');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': and it completes');
SELECT is((SELECT array_agg(e->>'step') FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e
            WHERE (e->>'started_at')::timestamptz < (SELECT created_at FROM provisioning.tenant_onboarding
                                                      WHERE tenant_id = :'tenant' ORDER BY created_at DESC LIMIT 1)),
          CASE WHEN :'odoo' THEN '{step_0_engine_check,step_2_company}' ELSE '{step_0_engine_check,step_1_fiscal_year,step_2_company}' END::text[],
          :'kind' || ': the retry went on from the first step not done (the steps done are the cancelled run''s)');
\ir one_of_everything.sql

-- Steps at once: with every answer 40 ms, steps run in step workers; the cancel comes while
-- several are in flight
\set ignored `$SIMCTL :sim latency 40`
\set eng haltp:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Halted Parallel', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT format($$SELECT count(*) >= 2 FROM jsonb_array_elements(provisioning.provision_status(%L)->'steps') e $$
              || $$WHERE e->>'status' = 'running'$$, :'tenant') AS at_once \gset
\set ignored `$WAIT_FOR 'two steps to run at once' :'at_once'`
SELECT provisioning.provision_cancel(:'tenant') AS doc \gset
SELECT is(test.wait_final(:'tenant'), 'CANCELLED', :'kind' || ': a run with steps at once ends CANCELLED');
SELECT is((SELECT array_agg(e->>'step') FROM jsonb_array_elements(:'doc'::jsonb->'steps') e
            WHERE e->>'status' = 'running'
              AND (test.step_statuses(:'tenant')->>(e->>'step')) IN ('pending', 'running')),
          NULL, :'kind' || ': every step in flight at the cancel has its outcome recorded');
SELECT is((SELECT array_agg(e->>'step') FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') e
            WHERE e->>'status' = 'running'
               OR (e->>'started_at')::timestamptz > (SELECT cancel_requested_at FROM provisioning.tenant_onboarding
                                                     WHERE tenant_id = :'tenant')),
          NULL, :'kind' || ': no step started after the cancel, and none is left running');
SELECT is(provisioning.provision_retry(:'tenant')->>'status', 'PENDING', :'kind' || ': provision_retry queues it again');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': and it completes');
\set ignored `$SIMCTL :sim latency 0`
\ir one_of_everything.sql

-- Nothing queued or running: the status document as it is, nothing logged
SELECT count(*) AS log_rows FROM provisioning.provision_logs(:'tenant') \gset
SELECT is(provisioning.provision_cancel(:'tenant', 'too late'), provisioning.provision_status(:'tenant'),
          :'kind' || ': with no run queued or running, provision_cancel returns the status document unchanged');
SELECT is((SELECT count(*) FROM provisioning.provision_logs(:'tenant')), :'log_rows'::bigint,
          :'kind' || ': and logs nothing');
