-- An engine that is offline: the run ends NOT_PROVISIONED at the engine check, saying so,
-- and touches nothing; once the engine is back, the run is queued again and completes.
\set eng offline:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
\set ignored `$SIMCTL :sim offline true`
INSERT INTO provisioning.tenants (name, engine) VALUES ('Offline Retail', :'eng') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'NOT_PROVISIONED', :'kind' || ': an unreachable engine leaves the tenant NOT_PROVISIONED');
SELECT is(provisioning.provision_status(:'tenant')->>'error_step', 'step_0_engine_check', :'kind' || ': the engine check failed');
SELECT matches(provisioning.provision_status(:'tenant')->'errors'->0->>'message', 'engine is offline',
               :'kind' || ': the error says the engine is offline');
SELECT is((SELECT count(*) FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s
            WHERE s->>'status' = 'pending'),
          (SELECT count(*) FROM provisioning.step_catalog
            WHERE engine_kind = :'kind' AND operation = 'FULL_POS' AND condition IN ('always', 'pos')) - 1,
          :'kind' || ': no other step was touched');
\set ignored `$SIMCTL :sim offline false`
\set summary `$SIMCTL :sim summary :eng:host`
SELECT is((:'summary'::jsonb->>CASE :'kind' WHEN 'odoo' THEN 'res.company' ELSE 'Company' END)::int, 0,
          :'kind' || ': the engine holds nothing');

-- (the launcher probes it, finds it back and queues the run again: spec section 11)
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED'), 'PROVISIONED',
          :'kind' || ': a new run is queued once the engine is back, and it completes');
SELECT is((SELECT count(*) FROM provisioning.audit WHERE tenant_id = :'tenant' AND action = 'engine_recovered'),
          1::bigint, :'kind' || ': queued by the engine''s recovery, without anyone asking');
