-- Engine secrets stay with their engine: an admin cannot point an engine elsewhere without
-- giving its credentials again in the same statement, a base_url has no user info, query or
-- fragment, credentials carry no line breaks and are refused, not cut, when too long; and
-- engine_health never answers from the cache for an engine that changed since.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(15);

CREATE ROLE tap_admin17 LOGIN;
GRANT provisioning_admin TO tap_admin17;

\set ignored `$SIMCTL reset sec17.localhost`
SELECT test.new_engine('sec17') IS NOT NULL AS engine;
CREATE TEMP TABLE before17 AS SELECT * FROM provisioning.engines WHERE name = 'sec17';

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
                              test.sim_url('sec17') || '/')),
          'changed', 'a new base_url with both credentials in the same statement is taken');

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

DELETE FROM provisioning.tenants WHERE name = 'Health Seventeen' OR name LIKE 'Health %';
DELETE FROM provisioning.engines WHERE name LIKE 'h17x%' OR name = 'sec17';
REVOKE provisioning_admin FROM tap_admin17;
DROP ROLE tap_admin17;
SELECT * FROM finish();
