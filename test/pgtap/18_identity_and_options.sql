-- Identity comes from a gateway only: a direct login in provisioning_user that sets
-- request.jwt.claims itself acts as itself, not as the user it names. Only admins set the
-- options that name things in the engine, and two tenants on one engine never resolve to
-- the same company (23505).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(12);

CREATE ROLE tap_direct18 LOGIN;
GRANT provisioning_user TO tap_direct18;
CREATE ROLE tap_gateway18 LOGIN NOINHERIT;
GRANT provisioning_gateway, provisioning_user, provisioning_admin TO tap_gateway18;

SET provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url) VALUES ('id18', 'erpnext', 'http://127.0.0.1:9');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-0000000018a1', 'Alice Retail', 'id18'),
    ('00000000-0000-4000-8000-0000000018b1', 'Bob Retail', 'id18');
INSERT INTO provisioning.tenant_members VALUES ('00000000-0000-4000-8000-0000000018a1', 'alice', 'owner');
RESET provisioning.auto_start;

SELECT is(test.as_login('tap_direct18', NULL, '{"sub": "alice"}',
                       $$SELECT provisioning.provision_status('00000000-0000-4000-8000-0000000018a1')->>'status'$$),
          'SQLSTATE 42501', 'a direct login claiming to be alice is not alice');
SELECT is(test.as_login('tap_direct18', NULL, '{"sub": "alice"}',
                       $$SELECT count(*)::text FROM provisioning.tenants$$),
          '0', '...and sees none of her rows');
INSERT INTO provisioning.tenant_members VALUES ('00000000-0000-4000-8000-0000000018a1', 'tap_direct18', 'member');
SELECT is(test.as_login('tap_direct18', NULL, '{"sub": "bob"}',
                       $$SELECT provisioning.provision_status('00000000-0000-4000-8000-0000000018a1')->>'status'$$),
          'NOT_PROVISIONED', 'it acts as itself: its role name is its user id');
SELECT is(test.as_login('tap_gateway18', 'provisioning_user', '{"sub": "alice"}',
                       $$SELECT provisioning.provision_status('00000000-0000-4000-8000-0000000018a1')->>'status'$$),
          'NOT_PROVISIONED', 'behind a gateway the sub claim is the user');
SELECT is(test.as_login('tap_gateway18', 'provisioning_user', '{"sub": "alice"}',
                       $$SELECT provisioning.provision_status('00000000-0000-4000-8000-0000000018b1')->>'status'$$),
          'SQLSTATE 42501', '...and alice still cannot read Bob''s tenant');

-- Options that name things in the engine
SELECT is(test.as_login('tap_gateway18', 'provisioning_user', '{"sub": "alice"}',
                       $$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000018a1', '{"company_name": "Bob Retail"}')->>'status'$$),
          'SQLSTATE 42501', 'a member may not name the company');
SELECT is(test.as_login('tap_gateway18', 'provisioning_user', '{"sub": "alice"}',
                       $$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000018a1', '{"abbr": "BR"}')->>'status'$$),
          'SQLSTATE 42501', '...nor the abbreviation');
SELECT is(test.as_login('tap_gateway18', 'provisioning_user', '{"sub": "alice"}',
                       $$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000018a1', '{"pos_user": "bob@example.com"}')->>'status'$$),
          'SQLSTATE 42501', '...nor the POS user');
SELECT is(test.as_login('tap_gateway18', 'provisioning_admin', '{"sub": "root"}',
                       $$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000018a1', '{"company_name": "bob retail"}')->>'status'$$),
          'SQLSTATE 23505', 'an admin naming another tenant''s company on the same engine gets 23505');
SELECT is(test.as_login('tap_gateway18', 'provisioning_admin', '{"sub": "root"}',
                       $$SELECT provisioning.provision_start('00000000-0000-4000-8000-0000000018a1', '{"company_name": "Alice Retail (Main)"}')->>'status'$$),
          'PENDING', '...and may name a company of its own');

-- One company per engine, whatever the case
SELECT throws_ok($$INSERT INTO provisioning.tenants (name, engine) VALUES ('ALICE RETAIL', 'id18')$$,
                 '23505', NULL, 'a second tenant resolving to the same company on the engine is refused');
SELECT lives_ok($$INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('Alice Retail', 'id18', '{"company_name": "Alice Outlet"}')$$,
                'the same name with a company of its own is taken');

-- the runs the last cases queued go on in workers (against no engine): let them end
-- before their rows go, so the cleanup never races a worker recording a step
SELECT count(test.wait_final(id)) AS settled FROM provisioning.tenants WHERE engine = 'id18' \gset
DELETE FROM provisioning.tenants WHERE engine = 'id18';
DELETE FROM provisioning.engines WHERE name = 'id18';
DROP ROLE tap_direct18;
REVOKE provisioning_gateway, provisioning_user, provisioning_admin FROM tap_gateway18;
DROP ROLE tap_gateway18;
SELECT * FROM finish();
