-- The engine (:eng on :kind) holds exactly one of everything a full run with demo items
-- makes: included by the cases that provoke duplicates (lost answers, slow writes).
\set summary `$SIMCTL :sim summary :eng:host`
\if :odoo
SELECT is(:'summary'::jsonb - 'account.account',
          '{"res.company": 1, "account.journal": 8, "account.journal cash": 1, "stock.warehouse": 3,
            "res.partner Walk-In Customer": 1, "pos.payment.method": 3, "pos.config": 1, "pos.session": 1,
            "pos.session opened": 1, "product.template": 3, "product.template available_in_pos": 3,
            "chart_template": ["generic_coa"]}'::jsonb,
          'odoo: the engine holds exactly one of everything');
\elif :sample
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 0, "Company": 1, "Warehouse": 6, "Customer": 1, "POS Profile": 0,
            "POS Opening Entry": 0, "Item": 0}'::jsonb,
          'sample: the engine holds exactly one of everything it makes (a company with its 5 default warehouses, Sample Store, the customer)');
\else
SELECT is(:'summary'::jsonb - 'Account' - 'Stock Settings' - 'Selling Settings',
          '{"Fiscal Year": 1, "Company": 1, "Warehouse": 7, "Customer": 1, "POS Profile": 1,
            "POS Opening Entry": 1, "Item": 3}'::jsonb,
          'the engine holds exactly one of everything');
\endif
