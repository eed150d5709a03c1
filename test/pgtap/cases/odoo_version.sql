-- One Odoo version (variables v, chart, warehouses, methods: what that version holds).
\set eng version:v
SELECT test.new_odoo_engine(:'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Version ' || :'v' || ' Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': the run completes');
\set summary `$SIMCTL odoo summary :eng`
SELECT is(:'summary'::jsonb - 'account.account',
          jsonb_build_object('res.company', 1, 'account.journal', 8, 'account.journal cash', 1,
                             'stock.warehouse', :warehouses, 'res.partner Walk-In Customer', 1,
                             'pos.payment.method', :methods, 'pos.config', 1, 'pos.session', 1,
                             'pos.session opened', 1, 'product.template', 3,
                             'product.template available_in_pos', 3, 'chart_template', :'chart'::jsonb),
          :'v' || ': the engine holds one of everything');
SELECT is(provisioning.provision_start(:'tenant')->>'status', 'PENDING', :'v' || ': a second run is queued');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'v' || ': the second run completes');
SELECT is(test.step_statuses(:'tenant'),
          test.all_steps('exists', '{"step_1_fiscal_year": "skipped"}', kind => 'odoo'),
          :'v' || ': and finds everything');
