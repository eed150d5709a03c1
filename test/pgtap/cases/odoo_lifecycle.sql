-- One Odoo version's lifecycle round trip (variable v; 38_odoo_lifecycle.sql sets the
-- simulated Odoo to it first): provisioned with three sales in its session; suspended (the
-- session closed by one closing, the config archived); resumed (the config unarchived, a new
-- session recorded); suspended again two sales later with the closing's answer lost (still
-- one closing); offboarded (every order exported with its lines and payments, counted as the
-- engine counts them; the company, its warehouses and configs archived); resumed (all of it
-- back, a new session). The tenant's statuses and the audit along the way.
\set db life38v:v
SELECT test.new_odoo_engine(:'db') IS NOT NULL AS engine;
SELECT set_config('test.life38_db', :'db', false) IS NOT NULL AS db;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Lifecycle ' || :'v' || ' Retail', :'db', '{"include_demo_data": true}') RETURNING id AS tenant, name AS company \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': provisioned');
\set sales `$SIMCTL odoo pos-sales :db ":company" 3`
SELECT (:'sales'::jsonb->>'session_id')::int AS first_session, (:'sales'::jsonb->>'config_id')::int AS config,
       (:'sales'::jsonb->>'company_id')::int AS company_id \gset

-- Suspend
SELECT provisioning.provision_suspend(:'tenant', 'unpaid invoice') IS NOT NULL AS suspending;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': the suspend completes');
SELECT is(test.wait_tenant(:'tenant', 'SUSPENDED'), 'SUSPENDED', :'v' || ': the tenant is SUSPENDED');
SELECT is(test.step_statuses(:'tenant'),
          '{"suspend_1_close_session": "completed", "suspend_2_disable_pos": "completed"}',
          :'v' || ': both steps did their work');
SELECT is(pg_temp.closings(), 1::bigint, :'v' || ': one closing (close_session_from_ui)');
SELECT is(pg_temp.session_states(:config), 'closed', :'v' || ': the session is closed');
SELECT is((SELECT string_agg(DISTINCT o->>'state', ',') FROM jsonb_array_elements(pg_temp.records('pos.order', '[]')) o),
          'done', :'v' || ': its paid orders are done');
SELECT is(pg_temp.active('pos.config', :config), false, :'v' || ': the POS config is archived');

-- Resume
SELECT provisioning.provision_resume(:'tenant') IS NOT NULL AS resuming;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': the resume completes');
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED'), 'PROVISIONED', :'v' || ': the tenant is PROVISIONED again');
SELECT is(test.step_statuses(:'tenant'),
          '{"resume_1_enable_pos": "completed", "resume_2_open_session": "completed"}',
          :'v' || ': the config unarchived, a session opened');
SELECT is(pg_temp.active('pos.config', :config), true, :'v' || ': the POS config is active');
SELECT is(pg_temp.session_states(:config), 'closed,opened', :'v' || ': a new session is opened, the first one closed');
SELECT is((SELECT provisioning_metadata->>'pos_session_id' FROM provisioning.tenant_onboarding
            WHERE tenant_id = :'tenant' ORDER BY created_at DESC LIMIT 1),
          (SELECT s->>'id' FROM jsonb_array_elements(pg_temp.records('pos.session', '[["state", "=", "opened"]]')) s),
          :'v' || ': the run records the new session');

-- Suspend again, two sales later, the closing's answer lost once
\set sales `$SIMCTL odoo pos-sales :db ":company" 2`
\set ignored `$SIMCTL odoo fault '{"db": "':db'", "method": "object.execute_kw pos.session close_session_from_ui", "action": "drop_after_commit"}'`
SELECT provisioning.provision_suspend(:'tenant', 'closing season') IS NOT NULL AS suspending;
SELECT is(test.wait_final(:'tenant', 90), 'COMPLETED', :'v' || ': the second suspend completes, its closing''s answer lost');
SELECT is(pg_temp.closings(), 2::bigint, :'v' || ': one more closing, not two');
SELECT is(pg_temp.session_states(:config), 'closed,closed', :'v' || ': both sessions are closed');
SELECT is(pg_temp.active('pos.config', :config), false, :'v' || ': the POS config is archived again');

-- Offboard a suspended tenant
SELECT provisioning.provision_offboard(:'tenant', 'contract ended') IS NOT NULL AS offboarding;
SELECT is(test.wait_final(:'tenant', 90), 'COMPLETED', :'v' || ': the offboarding completes');
SELECT is(test.wait_tenant(:'tenant', 'OFFBOARDED'), 'OFFBOARDED', :'v' || ': the tenant is OFFBOARDED');
SELECT is(test.step_statuses(:'tenant'),
          '{"offboard_1_close_session": "exists", "offboard_2_disable_pos": "exists", "offboard_3_export": "completed", "offboard_4_archive": "completed"}',
          :'v' || ': the session closed and the config archived already; exported, archived');
SELECT is(pg_temp.closings(), 2::bigint, :'v' || ': no closing by the offboarding');
SELECT is(pg_temp.active('res.company', :company_id), false, :'v' || ': the company is archived');
SELECT is((SELECT bool_or((w->>'active')::boolean) FROM jsonb_array_elements(
             pg_temp.records('stock.warehouse', format('[["company_id", "=", %s]]', :company_id))) w),
          false, :'v' || ': so are its warehouses');
SELECT is(pg_temp.export_counts(:'tenant'), pg_temp.engine_counts(:company_id),
          :'v' || ': every document exported, orders with their lines and payments, as many as the engine holds');
SELECT is((SELECT count(*) FROM provisioning.tenant_exports WHERE tenant_id = :'tenant' AND kind = 'pos.order'),
          5::bigint, :'v' || ': the five orders');

-- Resume an offboarded tenant
SELECT provisioning.provision_resume(:'tenant') IS NOT NULL AS resuming;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': the resume of the offboarded tenant completes');
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED'), 'PROVISIONED', :'v' || ': PROVISIONED again');
SELECT is(pg_temp.active('res.company', :company_id) AND pg_temp.active('pos.config', :config), true,
          :'v' || ': the company and the POS config are active');
SELECT is(pg_temp.session_states(:config), 'closed,closed,opened', :'v' || ': a third session is opened');
SELECT is((SELECT string_agg(action, ',' ORDER BY at, id) FROM provisioning.audit WHERE tenant_id = :'tenant'),
          'auto_start,suspend,resume,suspend,offboard,resume', :'v' || ': the audit, each request once');
\set ignored `$SIMCTL odoo clear`
