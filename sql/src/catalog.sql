-- The extension's own rows: the engine kinds and their step catalogs. Both kinds have the
-- same ten step keys, so a status document looks the same for either. The worker walks a
-- run's steps and asks the engine's driver (src/engines/<kind>/) for each step's
-- implementation.

INSERT INTO provisioning.engine_kinds (kind, setting_defaults) VALUES
    ('erpnext', '{"chart_of_accounts": "Standard"}'),
    ('odoo',    '{"chart_of_accounts": "generic_coa"}');

-- depends_on is the critical path: a run starts a step once every step it depends on has
-- settled, so steps that do not depend on each other run at the same time
-- (provisioning.max_parallel_steps at most). Each entry names the steps whose results the
-- step reads (a document in the engine, or a reference in the run's metadata).
INSERT INTO provisioning.step_catalog (engine_kind, step, position, critical, condition, description, depends_on) VALUES
    ('erpnext', 'step_0_engine_check',      0, true,  'always',    'engine reachable and the API key accepted',
     '{}'),
    -- nothing is touched before the engine answered and accepted the key
    ('erpnext', 'step_1_fiscal_year',       1, true,  'always',    'a fiscal year covering today',
     '{step_0_engine_check}'),
    ('erpnext', 'step_2_company',           2, true,  'always',    'the company',
     '{step_0_engine_check}'),
    -- the company's accounts; whether this run made the company
    ('erpnext', 'step_3_chart_of_accounts', 3, true,  'always',    'the company''s chart of accounts is imported',
     '{step_2_company}'),
    -- the company's abbreviation names the warehouses
    ('erpnext', 'step_4_warehouses',        4, true,  'always',    'Main Store, and POS Store when pos_store_enabled',
     '{step_2_company}'),
    -- the default warehouse is Main Store
    ('erpnext', 'step_5_settings',          5, true,  'always',    'stock and selling settings',
     '{step_4_warehouses}'),
    -- item defaults name Main Store
    ('erpnext', 'step_6_items',             6, false, 'demo_data', 'demo items when include_demo_data',
     '{step_4_warehouses}'),
    ('erpnext', 'step_7_customer',          7, true,  'always',    'customer Walk-In Customer',
     '{step_0_engine_check}'),
    -- the company's write-off, cost center and cash accounts, the POS Store, the customer,
    -- and the API user (step 0) as the POS user
    ('erpnext', 'step_8_pos_profile',       8, true,  'pos',       'POS profile',
     '{step_0_engine_check,step_3_chart_of_accounts,step_4_warehouses,step_7_customer}'),
    ('erpnext', 'step_9_pos_session',       9, true,  'pos',       'an open, submitted POS opening entry',
     '{step_8_pos_profile}'),

    ('odoo', 'step_0_engine_check',         0, true,  'always',      'engine reachable and the login and API key accepted',
     '{}'),
    ('odoo', 'step_1_fiscal_year',          1, true,  'unsupported', 'Odoo Community has no fiscal-year document',
     '{step_0_engine_check}'),
    ('odoo', 'step_2_company',              2, true,  'always',      'the company (res.company), and the API user''s access to it',
     '{step_0_engine_check}'),
    -- the company, and whether this run made it
    ('odoo', 'step_3_chart_of_accounts',    3, true,  'always',      'the chart template loaded for the company, with its accounts and journals',
     '{step_2_company}'),
    ('odoo', 'step_4_warehouses',           4, true,  'always',      'Main Store, and POS Store when pos_store_enabled (stock.warehouse)',
     '{step_2_company}'),
    -- after the chart, which may set the company's fiscal year
    ('odoo', 'step_5_settings',             5, true,  'always',      'the company''s settings',
     '{step_3_chart_of_accounts}'),
    ('odoo', 'step_6_items',                6, false, 'demo_data',   'demo products available in the POS when include_demo_data',
     '{step_2_company}'),
    ('odoo', 'step_7_customer',             7, true,  'always',      'customer Walk-In Customer (res.partner)',
     '{step_2_company}'),
    -- the cash journal (the chart), the warehouse, and the config the chart may have made
    ('odoo', 'step_8_pos_profile',          8, true,  'pos',         'a Cash payment method and the POS configuration (pos.config)',
     '{step_3_chart_of_accounts,step_4_warehouses}'),
    ('odoo', 'step_9_pos_session',          9, true,  'pos',         'an opened POS session (pos.session)',
     '{step_8_pos_profile}');
