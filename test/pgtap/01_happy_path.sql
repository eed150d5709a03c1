-- Happy path and idempotency, for each engine (cases/01_happy_path.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 17 + 2);
\set case 01_happy_path
\ir cases/engines.sql

-- Odoo: a company name full of quotes, Unicode and JSON's own characters reaches the engine
-- intact (it travels inside JSON-RPC bodies and search domains)
\set ignored `$SIMCTL odoo reset hostile_names`
SELECT test.new_odoo_engine('hostile_names') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine)
VALUES (E'O''Brien "Ü" 😀 \\ ; }] Retail', 'hostile_names') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'odoo: a company with a hostile name is provisioned');
\set companies `curl -sSf --max-time 30 "$ODOO_SIM_CONTROL/records?db=hostile_names&model=res.company"`
SELECT is((SELECT array_agg(r->>'name' ORDER BY (r->>'id')::int) FROM jsonb_array_elements(:'companies'::jsonb) r),
          ARRAY['My Company', E'O''Brien "Ü" 😀 \\ ; }] Retail'],
          'odoo: its name reached the engine byte for byte, once');
SELECT * FROM finish();
