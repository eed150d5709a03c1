-- Live progress (1.2): the status document's engine_kind and workspace_url. workspace_url
-- is null until the run is COMPLETED or PARTIAL, then the engine's point-of-sale page
-- (ERPNext desk /app/point-of-sale, /app for a BASIC run; Odoo's POS UI for the pos.config),
-- never with credentials. (NOTIFY provisioning is checked by test/ui/browser.test.js, which
-- can LISTEN.)
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(11);

\set ignored `$SIMCTL reset live.localhost`
SELECT test.new_engine('live') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Live Retail', 'live') RETURNING id AS tenant \gset
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Live Basic', 'live', '{"provisioning_type": "BASIC"}') RETURNING id AS basic \gset
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Live Failed', 'live', '{"chart_of_accounts": "Standrad"}') RETURNING id AS failed \gset
RESET provisioning.auto_start;

SELECT is(provisioning.provision_status(:'tenant') - 'tenant_id' - 'tenant_status',
          '{"run_id": null, "correlation_id": null, "provisioning_type": null, "engine_kind": "erpnext",
            "workspace_url": null, "status": "NOT_PROVISIONED", "progress": 0, "steps_completed": 0,
            "steps_total": 0, "current_step": null, "error_step": null, "errors": [], "steps": [],
            "started_at": null, "finished_at": null, "stalled": false, "waiting": null}'::jsonb,
          'never provisioned: the engine''s kind, no workspace_url');
SELECT is(provisioning.provision_start(:'tenant') ->> 'workspace_url', NULL, 'a queued run has no workspace_url');
SELECT is(provisioning.provision_start(:'basic') ->> 'engine_kind', 'erpnext', 'provision_start''s document names the engine''s kind');
SELECT is(provisioning.provision_start(:'failed') ->> 'status', 'PENDING', 'a third run queued');

SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the run completes');
SELECT is(provisioning.provision_status(:'tenant') ->> 'workspace_url', test.sim_url('live') || '/app/point-of-sale',
          'then workspace_url is ERPNext''s point-of-sale page');
SELECT is(test.wait_final(:'basic'), 'COMPLETED', 'the BASIC run completes');
SELECT is((SELECT array_agg(e->>'step') FROM jsonb_array_elements(provisioning.provision_status(:'basic')->'steps') e),
          (SELECT array_agg(step ORDER BY position) FROM provisioning.step_catalog
            WHERE engine_kind = 'erpnext' AND operation = 'BASIC'),
          'its steps are BASIC''s catalog, none of the point of sale');
SELECT is(provisioning.provision_status(:'basic') ->> 'workspace_url', test.sim_url('live') || '/app',
          'a BASIC run (no POS) opens the desk');
SELECT is(test.wait_final(:'failed') || ' ' || coalesce(provisioning.provision_status(:'failed') ->> 'workspace_url', 'no url'),
          'FAILED no url', 'a failed run has no workspace_url');

SELECT is(ARRAY[provisioning._workspace_url('odoo', 'https://odoo.example.com/', '{"pos_config_id": 7}'),
                provisioning._workspace_url('odoo', 'https://odoo.example.com', '{}'),
                provisioning._workspace_url('erpnext', 'https://erp.example.com/?x=1#y', '{"pos_profile": "P"}')],
          ARRAY['https://odoo.example.com/pos/ui?config_id=7', 'https://odoo.example.com/web',
                'https://erp.example.com/app/point-of-sale'],
          'Odoo''s POS UI for the pos.config, its home without one; a base URL''s query and fragment are dropped');

SELECT * FROM finish();
