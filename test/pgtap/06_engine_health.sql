-- engine_health: online, unauthorized and offline engines, one answer per tenant, the
-- cache, and an offline engine answered within the connect timeout.
\set ON_ERROR_STOP 1
\set QUIET 1
SET provisioning.auto_start = off;
SELECT plan(10);

SELECT test.new_engine('healthy') IS NOT NULL, test.new_engine('badkey', 'wrong') IS NOT NULL;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('nowhere', 'erpnext', 'http://127.0.0.1:9', 'k', 's');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-0000000000e1', 'Health A', 'healthy'),
    ('00000000-0000-4000-8000-0000000000e2', 'Health B', 'badkey'),
    ('00000000-0000-4000-8000-0000000000e3', 'Health C', 'nowhere'),
    ('00000000-0000-4000-8000-0000000000e4', 'Health D', 'healthy');

CREATE TEMP TABLE h AS SELECT provisioning.engine_health('{00000000-0000-4000-8000-0000000000e1,
    00000000-0000-4000-8000-0000000000e2, 00000000-0000-4000-8000-0000000000e3,
    00000000-0000-4000-8000-0000000000e4}') AS doc;
SELECT is(jsonb_array_length(doc), 4, 'one answer per tenant') FROM h;
SELECT is(ARRAY(SELECT e->>'status' FROM h, jsonb_array_elements(doc) e),
          ARRAY['online', 'unauthorized', 'offline', 'online'], 'online, unauthorized, offline, online');
SELECT ok((doc->0->>'latency_ms')::float >= 0 AND doc->0->>'checked_at' IS NOT NULL, 'latency and time are reported') FROM h;
SELECT is(doc->2->>'engine', 'nowhere', 'each answer names its engine') FROM h;
SELECT ok(doc->2->>'error' IS NOT NULL, 'an offline engine comes with the reason') FROM h;
SELECT is(doc->0->'cached', 'false', 'the first answer is fresh') FROM h;
SELECT is(provisioning.engine_health('{00000000-0000-4000-8000-0000000000e1}')->0->'cached', 'true',
          'the second is cached');
SELECT ok(position('simsecret' IN doc::text) = 0 AND position('wrong' IN doc::text) = 0, 'no secret in the answer') FROM h;

-- an unreachable engine is an answer, not an error, and a quick one
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('nowhere2', 'erpnext', 'http://127.0.0.1:9', 'k', 's');
INSERT INTO provisioning.tenants (id, name, engine) VALUES ('00000000-0000-4000-8000-0000000000e5', 'Health E', 'nowhere2');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
SELECT is(provisioning.engine_health('{00000000-0000-4000-8000-0000000000e5}')->0->>'status', 'offline',
          'an unreachable engine is reported offline');
SELECT cmp_ok(extract(epoch FROM clock_timestamp() - t), '<', 1.0::numeric,
              'within the connect timeout') FROM t0;

SELECT * FROM finish();
