-- Happy path and idempotency, for each engine and the test-only kind (cases/01_happy_path.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3 * 17 + 3);
\set case 01_happy_path
\ir cases/engines.sql
\ir cases/sample.sql
-- the test-only kind's rows are what its driver declares, as every kind's are
SELECT set_eq($$SELECT engine_kind, operation, step, position, critical, condition, description, depends_on
                  FROM provisioning.step_catalog WHERE engine_kind = 'sample'$$,
              $$SELECT engine_kind, operation, step, position, critical, condition, description, depends_on
                  FROM provisioning._driver_catalog() WHERE engine_kind = 'sample'$$,
              'sample: step_catalog holds the four steps of each operation its driver declares');

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
