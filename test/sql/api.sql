-- The SQL surface: objects, the status document of a tenant never provisioned, and the
-- errors of bad input. Runs are queued only inside transactions that roll back, so no
-- worker ever picks one up and the output stays the same from run to run.
\set SHOW_CONTEXT never
SET provisioning.auto_start = off;

-- The public API and its signatures
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'provisioning'::regnamespace AND p.proname !~ '^_'
 ORDER BY 1;

-- The operations, and the step catalog: the same ten steps for each production kind of
-- engine (a test cluster also has the test-only kind of provisioning.test_engine_kinds)
SELECT operation, position, description FROM provisioning.operations ORDER BY position;
SELECT engine_kind, step, position, critical, condition FROM provisioning.step_catalog
 WHERE operation = 'FULL_POS' AND engine_kind IN ('erpnext', 'odoo') ORDER BY engine_kind, position;
SELECT kind, setting_defaults FROM provisioning.engine_kinds WHERE kind IN ('erpnext', 'odoo') ORDER BY kind;

-- Tables whose data pg_dump keeps
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension WHERE extname = 'provisioning' ORDER BY 1;

INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('regress', 'erpnext', 'http://127.0.0.1:9', 'key', 'secret');
INSERT INTO provisioning.tenants (id, name, engine)
VALUES ('00000000-0000-4000-8000-000000000001', 'Regress Retail', 'regress'),
       ('00000000-0000-4000-8000-000000000002', 'No Engine', NULL);

-- A tenant never provisioned
SELECT provisioning.provision_status('00000000-0000-4000-8000-000000000001');
SELECT count(*) FROM provisioning.provision_logs('00000000-0000-4000-8000-000000000001');

-- Bad input: each fails with the spec's SQLSTATE
SELECT provisioning.provision_status(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000ffff');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_status('not-a-uuid');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001', '{"colour": "red"}');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001', '{"include_demo_data": "yes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001', '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001', '{"provisioning_type": "MAXI"}');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001', '{"company_name": ""}');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.provision_retry('00000000-0000-4000-8000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.engine_health(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT provisioning.engine_health('{00000000-0000-4000-8000-00000000ffff}');
\echo :LAST_ERROR_SQLSTATE
UPDATE provisioning.tenants SET settings = '{"pos_store_enabled": 1}'
 WHERE id = '00000000-0000-4000-8000-000000000001';
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001');
\echo :LAST_ERROR_SQLSTATE
UPDATE provisioning.tenants SET settings = '{}' WHERE id = '00000000-0000-4000-8000-000000000001';
-- ...and changed nothing
SELECT count(*) AS runs FROM provisioning.tenant_onboarding;

-- A queued run's document, then a second start in the same transaction: PT409
BEGIN;
SELECT d->>'status' AS status, d->>'tenant_status' AS tenant_status, d->>'progress' AS progress,
       d->>'steps_total' AS steps_total, d->>'steps_completed' AS steps_completed,
       d->'steps'->6->>'status' AS items
  FROM provisioning.provision_start('00000000-0000-4000-8000-000000000001') d;
SELECT provisioning.provision_start('00000000-0000-4000-8000-000000000001');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- BASIC runs have no POS steps: their steps are BASIC's catalog; demo data turns the items
-- step on
BEGIN;
SELECT d->>'steps_total' AS steps_total, d->'steps'->6->>'status' AS items,
       (SELECT array_agg(e->>'step') FROM jsonb_array_elements(d->'steps') e)
       = (SELECT array_agg(c.step ORDER BY c.position) FROM provisioning.step_catalog c
           WHERE c.engine_kind = 'erpnext' AND c.operation = 'BASIC') AS steps_are_the_catalogs
  FROM provisioning.provision_start('00000000-0000-4000-8000-000000000001',
                                    '{"provisioning_type": "BASIC", "include_demo_data": true}') d;
ROLLBACK;

-- A retry is a run of the same operation: a failed BASIC run has no POS step to start from
BEGIN;
SELECT d->>'provisioning_type' AS provisioning_type
  FROM provisioning.provision_start('00000000-0000-4000-8000-000000000001', '{"provisioning_type": "BASIC"}') d;
UPDATE provisioning.tenant_onboarding SET status = 'FAILED', finished_at = now()
 WHERE tenant_id = '00000000-0000-4000-8000-000000000001';
SAVEPOINT failed;
SELECT provisioning.provision_retry('00000000-0000-4000-8000-000000000001', 'step_8_pos_profile');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO failed;
SELECT provisioning.provision_retry('00000000-0000-4000-8000-000000000001', 'step_10_none');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO failed;
SELECT d->>'provisioning_type' AS provisioning_type, d->>'steps_total' AS steps_total
  FROM provisioning.provision_retry('00000000-0000-4000-8000-000000000001', 'step_0_engine_check') d;
ROLLBACK;

-- Inserting a tenant with an engine starts a run when auto_start is on
BEGIN;
SET LOCAL provisioning.auto_start = on;
INSERT INTO provisioning.tenants (id, name, engine)
VALUES ('00000000-0000-4000-8000-000000000003', 'Auto Retail', 'regress');
SELECT status, provisioning_type FROM provisioning.tenant_onboarding
 WHERE tenant_id = '00000000-0000-4000-8000-000000000003';
ROLLBACK;

-- Settings with a bad type refuse the insert
BEGIN;
SET LOCAL provisioning.auto_start = on;
INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('Bad', 'regress', '{"currency": 978}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

DELETE FROM provisioning.tenants;
DELETE FROM provisioning.engines;
