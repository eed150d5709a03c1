-- Engine secrets stay with their engine: an admin cannot point an engine elsewhere without
-- giving it new credentials in the same statement, however it tries (a fresh session, session
-- variables that look like the extension's, the credentials assigned to themselves, PostgREST's
-- request path), and a listener at the other address hears nothing; a base_url has no user
-- info, query or fragment, credentials carry no line breaks and are refused, not cut, when too
-- long; and engine_health never answers from the cache for an engine that changed since.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(24);

CREATE ROLE tap_admin17 LOGIN;
GRANT provisioning_admin TO tap_admin17;
CREATE ROLE tap_gateway17 LOGIN NOINHERIT;
GRANT provisioning_admin, provisioning_gateway TO tap_gateway17;

\set ignored `$SIMCTL reset sec17.localhost`
\set ignored `$SIMCTL reset listen17.localhost`
SELECT test.new_engine('sec17') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Secret Seventeen', 'sec17') RETURNING id AS secret_tenant \gset
RESET provisioning.auto_start;
CREATE TEMP TABLE before17 AS SELECT * FROM provisioning.engines WHERE name = 'sec17';
-- the listener: another site of the simulated engine, whose request log shows whatever reaches it
SELECT test.sim_url('listen17') AS listener \gset

-- A fresh session's first statement (1.2 trusted session variables that are unset there).
\set fresh `psql -X -At -v VERBOSITY=verbose -U tap_admin17 -c "UPDATE provisioning.engines SET base_url = '$(psql -X -At -c "SELECT test.sim_url('listen17')")' WHERE name = 'sec17'" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}'`
SELECT is(:'fresh'::text, 'ERROR:  42501', 'a new base_url is refused as the first statement of a fresh session');
-- Session variables named like the ones 1.2 trusted: any role can set them.
\set lookalike `psql -X -At -v VERBOSITY=verbose -U tap_admin17 -c "SET provisioning_engines.given_api_key = 'sec17'" -c "SET provisioning_engines.given_api_secret = 'sec17'" -c "UPDATE provisioning.engines SET base_url = '$(psql -X -At -c "SELECT test.sim_url('listen17')")' WHERE name = 'sec17'" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}'`
SELECT is(:'lookalike'::text, 'ERROR:  42501', '...and after setting look-alike session variables');
-- PostgREST's PATCH /engines?name=eq.sec17 {"base_url": ...}, by its authenticator for an admin
SELECT is(test.as_login('tap_gateway17', 'provisioning_admin', '{"role": "provisioning_admin", "sub": "root"}',
                        format($$WITH pgrst_source AS (UPDATE provisioning.engines SET base_url = pgrst_body.base_url
                                   FROM (SELECT %L::json AS json_data) pgrst_payload,
                                        LATERAL (SELECT base_url FROM json_to_record(pgrst_payload.json_data) AS _(base_url text)) pgrst_body
                                  WHERE name = 'sec17' RETURNING 1)
                                SELECT count(*)::text FROM pgrst_source$$, json_build_object('base_url', :'listener'))),
          'SQLSTATE 42501', '...and through PostgREST''s request path');

SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET base_url = 'http://127.0.0.1:1/listener' WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 42501', 'a new base_url without credentials is refused');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET base_url = 'http://127.0.0.1:1', api_key = 'mine' WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 42501', '...and with a new key but the old secret');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET base_url = 'http://127.0.0.1:1', api_key = api_key, api_secret = api_secret WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 42501', '...and with the credentials assigned to themselves (an admin cannot read them)');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET base_url = 'http://127.0.0.1:1#/x' , api_key = 'k', api_secret = 's' WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 22023', 'a base_url with a fragment is refused');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET base_url = 'http://127.0.0.1:1/?a=b', api_key = 'k', api_secret = 's' WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 22023', '...so is one with a query');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$INSERT INTO provisioning.engines (name, kind, base_url) VALUES ('u17', 'erpnext', 'http://user:pass@127.0.0.1:1') RETURNING 'added'$$),
          'SQLSTATE 22023', '...and one with user info');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET api_secret = E'x\r\nX-Evil: 1' WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 22023', 'a secret with a line break is refused');
SELECT is(test.as_login('tap_admin17', NULL, NULL, $$UPDATE provisioning.engines SET api_key = repeat('k', 1025) WHERE name = 'sec17' RETURNING 'changed'$$),
          'SQLSTATE 22023', 'an over-long key is refused, not cut short');
SELECT is((SELECT row(e.*)::text FROM provisioning.engines e WHERE name = 'sec17'),
          (SELECT row(b.*)::text FROM before17 b), 'the refused statements changed nothing');
SELECT is(test.as_login('tap_admin17', NULL, NULL, format($$UPDATE provisioning.engines SET base_url = %L, api_key = 'simkey', api_secret = 'simsecret' WHERE name = 'sec17' RETURNING 'changed'$$,
                              :'listener')),
          'SQLSTATE 42501', '...and with the credentials it had, given again (they count as the old ones)');

-- Everything refused above: what a run and a health probe send still goes to the engine's own
-- address, and the listener heard nothing at all.
SELECT is(provisioning.engine_health(ARRAY[:'secret_tenant']::uuid[])->0->>'status', 'online', 'the health probe still reaches the engine');
SELECT is(provisioning.provision_start(:'secret_tenant')->>'status', 'PENDING', 'a run is queued');
SELECT is(test.wait_final(:'secret_tenant', 60), 'COMPLETED', 'and completes against the engine''s own address');
\set heard `$SIMCTL requests listen17.localhost`
SELECT is(:'heard'::jsonb, '[]'::jsonb, 'the listener at the refused address received no request, so no credential');

SELECT is(test.as_login('tap_admin17', NULL, NULL, format($$UPDATE provisioning.engines SET base_url = %L, api_key = 'simkey2', api_secret = 'simsecret2' WHERE name = 'sec17' RETURNING 'changed'$$,
                              test.sim_url('sec17') || '/')),
          'changed', 'a new base_url with new credentials in the same statement is taken');
SELECT is(test.as_login('tap_admin17', NULL, NULL, format($$UPDATE provisioning.engines SET base_url = %L, api_key = NULL, api_secret = NULL WHERE name = 'sec17' RETURNING 'changed'$$,
                              test.sim_url('sec17'))),
          'changed', '...and so is one whose credentials are cleared in the same statement');
UPDATE provisioning.engines SET api_key = 'simkey', api_secret = 'simsecret' WHERE name = 'sec17';

-- The health cache answers for what was probed: a changed engine is probed afresh.
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Health Seventeen', 'sec17') RETURNING id AS tenant \gset
RESET provisioning.auto_start;
SELECT is(provisioning.engine_health(ARRAY[:'tenant']::uuid[])->0->>'status', 'online', 'the engine is online');
SELECT is(provisioning.engine_health(ARRAY[:'tenant']::uuid[])->0->>'cached', 'true', 'and the answer is cached');
UPDATE provisioning.engines SET api_secret = 'wrong' WHERE name = 'sec17';
SELECT is((provisioning.engine_health(ARRAY[:'tenant']::uuid[])->0) - 'latency_ms' - 'checked_at' - 'tenant_id',
          '{"engine": "sec17", "status": "unauthorized", "cached": false,
            "error": "the engine refused the API key (HTTP 401)"}'::jsonb,
          'after the secret changed, the engine is probed again and refuses it');

-- The cache is bounded: answers for 1,100 more engines than it holds take no shared memory
-- beyond what it reserved (older answers are evicted).
SET provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url) SELECT 'h17x' || i, 'erpnext', 'http://127.0.0.1:9' FROM generate_series(1, 1100) i;
INSERT INTO provisioning.tenants (name, engine) SELECT 'Health ' || i, 'h17x' || i FROM generate_series(1, 1100) i;
RESET provisioning.auto_start;
CREATE TEMP TABLE shmem17 AS SELECT sum(allocated_size) AS before FROM pg_shmem_allocations WHERE name IS NULL;
SELECT count(*) AS probed FROM generate_series(0, 4) b,
       LATERAL jsonb_array_elements(provisioning.engine_health(ARRAY(SELECT id FROM provisioning.tenants WHERE name LIKE 'Health %'
                                                                      ORDER BY name OFFSET b * 220 LIMIT 220))) h
 WHERE h->>'status' = 'offline' \gset
SELECT is(:probed, 1100, '1,100 engines were probed');
SELECT is((SELECT sum(allocated_size) FROM pg_shmem_allocations WHERE name IS NULL), (SELECT before FROM shmem17),
          'and the health cache took no more shared memory');

DELETE FROM provisioning.tenants WHERE name IN ('Health Seventeen', 'Secret Seventeen') OR name LIKE 'Health %';
DELETE FROM provisioning.engines WHERE name LIKE 'h17x%' OR name = 'sec17';
REVOKE provisioning_admin FROM tap_admin17;
DROP ROLE tap_admin17;
REVOKE provisioning_admin, provisioning_gateway FROM tap_gateway17;
DROP ROLE tap_gateway17;
SELECT * FROM finish();
