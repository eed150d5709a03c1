-- Two names, one company (issue 17): two tenants on one engine never resolve to the same
-- company, compared as the engine's database compares names. ERPNext (MariaDB,
-- utf8mb4_unicode_ci) ignores case, accents and trailing spaces, so "Café Rouge" and
-- "cafe rouge " are one company there: the second is refused (23505) wherever it comes from
-- (its name, its settings, an admin's company_name option, a move to the engine, a change of
-- the engine's kind) and nothing changes. Odoo compares exactly: they are two companies.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(24);

SET provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url) VALUES ('erp27', 'erpnext', 'http://127.0.0.1:9');
INSERT INTO provisioning.engines (name, kind, base_url, options)
VALUES ('odoo27', 'odoo', 'http://127.0.0.1:9', '{"database": "odoo27"}'),
       ('flip27', 'odoo', 'http://127.0.0.1:9', '{"database": "flip27"}');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-0000000027a1', 'Café Rouge', 'erp27'),
    ('00000000-0000-4000-8000-0000000027a2', 'Other Shop', 'erp27'),
    ('00000000-0000-4000-8000-0000000027b1', 'Café Rouge', 'odoo27');
CREATE TEMP TABLE before27 AS SELECT * FROM provisioning.tenants;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS
$$ SELECT NOT EXISTS ((SELECT id, name, engine, settings FROM provisioning.tenants EXCEPT SELECT id, name, engine, settings FROM before27)
                      UNION ALL (SELECT id, name, engine, settings FROM before27 EXCEPT SELECT id, name, engine, settings FROM provisioning.tenants)) $$;

-- ERPNext: case, accents and trailing spaces make no other company
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES ('cafe rouge ', 'erp27')$$,
                 '23505', 'company "cafe rouge " on engine "erp27" belongs to tenant 00000000-0000-4000-8000-0000000027a1',
                 'ERPNext: "cafe rouge " is "Café Rouge"');
SELECT ok(pg_temp.unchanged(), '...and nothing changed');
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES (E'CAFE\u0301 ROUGE', 'erp27')$$,
                 '23505', NULL, 'ERPNext: an accent written as a combining mark, in capitals, too');
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine, settings)
                   VALUES ('Anything', 'erp27', '{"company_name": "Cafe Rouge  "}')$$,
                 '23505', NULL, 'ERPNext: the company named in the settings counts, not the tenant''s name');
SELECT throws_ok($$UPDATE provisioning.tenants SET settings = '{"company_name": "CAFÉ ROUGE"}'
                    WHERE id = '00000000-0000-4000-8000-0000000027a2'$$,
                 '23505', 'company "CAFÉ ROUGE" on engine "erp27" belongs to tenant 00000000-0000-4000-8000-0000000027a1',
                 'ERPNext: a tenant renaming its company to one taken is refused');
SELECT ok(pg_temp.unchanged(), '...and nothing changed');
SELECT throws_ok($$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000027a2', '{"company_name": "cafe rouge"}')$$,
                 '23505', 'company "cafe rouge" on engine "erp27" belongs to tenant 00000000-0000-4000-8000-0000000027a1',
                 'ERPNext: an admin''s company_name option naming a taken company is refused');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = '00000000-0000-4000-8000-0000000027a2'),
          0::bigint, '...and no run was queued');
SELECT lives_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES (' Cafe Rouge', 'erp27'),
                                                                          ('Café Rouge Deux', 'erp27')$$,
                'ERPNext: a leading space or another word makes another company');

-- the message says why, and whose company it is
CREATE FUNCTION pg_temp.refusal(stmt text) RETURNS text LANGUAGE plpgsql AS
$$
DECLARE
    detail text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail;
END
$$;
SELECT is(pg_temp.refusal($$INSERT INTO provisioning.tenants (name, engine) VALUES ('cafe rouge ', 'erp27')$$),
          'Tenant 00000000-0000-4000-8000-0000000027a1 has company "Café Rouge", and engine "erp27" (erpnext) '
          'compares company names ignoring case, accents and trailing spaces.',
          'the detail names the holder''s company and how the engine compares');

-- Odoo compares exactly: case and trailing spaces make another company
SELECT lives_ok($$INSERT INTO provisioning.tenants (id, name, engine) VALUES
                      ('00000000-0000-4000-8000-0000000027b2', 'cafe rouge ', 'odoo27'),
                      ('00000000-0000-4000-8000-0000000027b3', 'Café Rouge ', 'odoo27'),
                      ('00000000-0000-4000-8000-0000000027b4', 'CAFÉ ROUGE', 'odoo27')$$,
                'Odoo: "cafe rouge ", "Café Rouge " and "CAFÉ ROUGE" are companies of their own');
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES ('Café Rouge', 'odoo27')$$,
                 '23505', 'company "Café Rouge" on engine "odoo27" belongs to tenant 00000000-0000-4000-8000-0000000027b1',
                 'Odoo: the same name exactly is refused');
SELECT throws_ok($$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000027b2', '{"company_name": "CAFÉ ROUGE"}')$$,
                 '23505', NULL, 'Odoo: an admin''s company_name option naming a taken company exactly is refused');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = '00000000-0000-4000-8000-0000000027b2'),
          0::bigint, '...and no run was queued');

-- A tenant moving to another engine is compared as that engine compares
DELETE FROM before27;
INSERT INTO before27 SELECT * FROM provisioning.tenants;
SELECT throws_ok($$UPDATE provisioning.tenants SET engine = 'erp27' WHERE id = '00000000-0000-4000-8000-0000000027b4'$$,
                 '23505', 'company "CAFÉ ROUGE" on engine "erp27" belongs to tenant 00000000-0000-4000-8000-0000000027a1',
                 'moving "CAFÉ ROUGE" from Odoo to the ERPNext engine holding "Café Rouge" is refused');
SELECT ok(pg_temp.unchanged(), '...and nothing changed');

-- An engine whose kind changes compares its tenants anew
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-0000000027c1', 'Flip', 'flip27'),
    ('00000000-0000-4000-8000-0000000027c2', 'FLÎP', 'flip27');
DELETE FROM before27;
INSERT INTO before27 SELECT * FROM provisioning.tenants;
SELECT throws_ok($$UPDATE provisioning.engines SET kind = 'erpnext' WHERE name = 'flip27'$$,
                 '23505', 'tenants share one company on engine "flip27": "Flip" (tenant 00000000-0000-4000-8000-0000000027c1), '
                          '"FLÎP" (tenant 00000000-0000-4000-8000-0000000027c2)',
                 'an Odoo engine holding "Flip" and "FLÎP" cannot become an ERPNext engine');
SELECT is((SELECT kind FROM provisioning.engines WHERE name = 'flip27'), 'odoo', '...it stays Odoo');
SELECT ok(pg_temp.unchanged(), '...and its tenants are unchanged');
DELETE FROM provisioning.tenants WHERE id = '00000000-0000-4000-8000-0000000027c2';
UPDATE provisioning.engines SET kind = 'erpnext' WHERE name = 'flip27';
SELECT is((SELECT company_key FROM provisioning.tenants WHERE id = '00000000-0000-4000-8000-0000000027c1'), 'flip',
          'once they are one, the engine becomes ERPNext and its tenant is keyed as ERPNext compares');
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES ('flîp ', 'flip27')$$,
                 '23505', NULL, '...so "flîp " is now refused there');

-- The key is derived: written directly, it is put back
UPDATE provisioning.tenants SET company_key = 'something else' WHERE id = '00000000-0000-4000-8000-0000000027a1';
SELECT is((SELECT company_key FROM provisioning.tenants WHERE id = '00000000-0000-4000-8000-0000000027a1'), 'cafe rouge',
          'a company_key written directly is computed again');

-- Concurrent inserts cannot both pass the check: the unique index holds the same key
SELECT is((SELECT indexdef FROM pg_indexes WHERE schemaname = 'provisioning' AND indexname = 'tenants_engine_company_key'),
          'CREATE UNIQUE INDEX tenants_engine_company_key ON provisioning.tenants USING btree (engine, md5(company_key)) WHERE (engine IS NOT NULL)',
          'the unique index is on the engine''s key');
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) SELECT n, 'erp27' FROM (VALUES ('Twin Shop'), ('TWIN SHOP')) v(n)$$,
                 '23505', NULL, 'two of one statement are refused too');

RESET provisioning.auto_start;
SELECT * FROM finish();
