-- Access rules (spec section 6): roles, the sub claim, membership, secrets.
\set SHOW_CONTEXT never
SET provisioning.auto_start = off;

CREATE ROLE regress_member LOGIN IN ROLE provisioning_user;
CREATE ROLE regress_admin LOGIN IN ROLE provisioning_admin;
CREATE ROLE regress_anon LOGIN;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('access', 'erpnext', 'http://127.0.0.1:9', 'key', 'topsecret');
INSERT INTO provisioning.tenants (id, name, engine)
VALUES ('00000000-0000-4000-8000-00000000000a', 'Tenant A', 'access'),
       ('00000000-0000-4000-8000-00000000000b', 'Tenant B', 'access');
INSERT INTO provisioning.tenant_members VALUES ('00000000-0000-4000-8000-00000000000a', 'alice', 'owner');

-- A member reads its tenant
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '{"role": "regress_member", "sub": "alice"}', true) IS NOT NULL AS claims;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a')->>'status' AS status;
-- ...not another one
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000b');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Through the tables, a member sees its own tenant only, and no engine
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', true) IS NOT NULL AS claims;
SELECT name FROM provisioning.tenants ORDER BY name;
SELECT user_id FROM provisioning.tenant_members;
SELECT name FROM provisioning.engines;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- No sub claim, the pooled connection's empty claims, malformed claims, an expired token
BEGIN;
SET LOCAL ROLE regress_member;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '', true) IS NOT NULL AS claims;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '{"sub": ', true) IS NOT NULL AS claims;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '{"sub": "alice", "exp": 1000000000}', true) IS NOT NULL AS claims;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A role that is neither provisioning role (anonymous)
BEGIN;
SET LOCAL ROLE regress_anon;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- An admin reads any tenant, writes engines, but never reads their secrets
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000000b')->>'status' AS status;
SELECT name, base_url FROM provisioning.engines;
SELECT api_secret FROM provisioning.engines;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Unknown tenants are PT404 for admins and members alike
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT provisioning.provision_status('00000000-0000-4000-8000-00000000ffff');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- provision_cancel: a member cancels its tenant's run (queued and cancelled in one
-- transaction: no worker sees it), not another tenant's; an admin any tenant's; unknown
-- tenants are PT404
BEGIN;
SET LOCAL ROLE regress_member;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', true) IS NOT NULL AS claims;
SELECT provisioning.provision_start('00000000-0000-4000-8000-00000000000a')->>'status' AS status;
SELECT d->>'status' AS status, d->>'tenant_status' AS tenant_status
  FROM provisioning.provision_cancel('00000000-0000-4000-8000-00000000000a', 'not now') d;
SELECT provisioning.provision_cancel('00000000-0000-4000-8000-00000000000b');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT provisioning.provision_start('00000000-0000-4000-8000-00000000000b')->>'status' AS status;
SELECT provisioning.provision_cancel('00000000-0000-4000-8000-00000000000b')->>'status' AS status;
SELECT provisioning.provision_cancel('00000000-0000-4000-8000-00000000ffff');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT provisioning.provision_cancel('00000000-0000-4000-8000-00000000000a', repeat('x', 501));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Nobody but the owner runs the worker-side functions
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT provisioning._run_begin('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

DELETE FROM provisioning.tenants;
DELETE FROM provisioning.engines;
DROP ROLE regress_member, regress_admin, regress_anon;
