-- engine_health: online, unauthorized and offline engines, one answer per tenant, the
-- cache, and an offline engine answered within the connect timeout. Odoo refuses a wrong
-- key with HTTP 200 and authenticate answering false: that is unauthorized too.
\if :odoo
\set id 00000000-0000-4000-8000-0000000000f
\else
\set id 00000000-0000-4000-8000-0000000000e
\endif
\set t1 :id 1
\set t2 :id 2
\set t3 :id 3
\set t4 :id 4
\set t5 :id 5
SELECT test.new_test_engine(:'kind', 'healthy' || :'tag') IS NOT NULL,
       test.new_test_engine(:'kind', 'badkey' || :'tag', 'wrong') IS NOT NULL;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
VALUES ('nowhere' || :'tag', :'kind', 'http://127.0.0.1:9', 'k', 's', '{"database": "nowhere"}');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    (:'t1', 'Health A' || :'tag', 'healthy' || :'tag'),
    (:'t2', 'Health B' || :'tag', 'badkey' || :'tag'),
    (:'t3', 'Health C' || :'tag', 'nowhere' || :'tag'),
    (:'t4', 'Health D' || :'tag', 'healthy' || :'tag');

CREATE TEMP TABLE h AS SELECT provisioning.engine_health(ARRAY[:'t1', :'t2', :'t3',
                                                                :'t4']::uuid[]) AS doc;
SELECT is(jsonb_array_length(doc), 4, :'kind' || ': one answer per tenant') FROM h;
SELECT is(ARRAY(SELECT e->>'status' FROM h, jsonb_array_elements(doc) e),
          ARRAY['online', 'unauthorized', 'offline', 'online'], :'kind' || ': online, unauthorized, offline, online');
SELECT ok((doc->0->>'latency_ms')::float >= 0 AND doc->0->>'checked_at' IS NOT NULL, :'kind' || ': latency and time are reported') FROM h;
SELECT is(doc->2->>'engine', 'nowhere' || :'tag', :'kind' || ': each answer names its engine') FROM h;
SELECT ok(doc->2->>'error' IS NOT NULL, :'kind' || ': an offline engine comes with the reason') FROM h;
SELECT is(doc->0->'cached', 'false', :'kind' || ': the first answer is fresh') FROM h;
SELECT is(provisioning.engine_health(ARRAY[:'t1']::uuid[])->0->'cached', 'true',
          :'kind' || ': the second is cached');
SELECT ok(position('simsecret' IN doc::text) = 0 AND position('wrong' IN doc::text) = 0, :'kind' || ': no secret in the answer') FROM h;
DROP TABLE h;

-- an unreachable engine is an answer, not an error, and a quick one
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
VALUES ('nowhere2' || :'tag', :'kind', 'http://127.0.0.1:9', 'k', 's', '{"database": "nowhere"}');
INSERT INTO provisioning.tenants (id, name, engine) VALUES (:'t5', 'Health E' || :'tag', 'nowhere2' || :'tag');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
SELECT is(provisioning.engine_health(ARRAY[:'t5']::uuid[])->0->>'status', 'offline',
          :'kind' || ': an unreachable engine is reported offline');
SELECT cmp_ok(extract(epoch FROM clock_timestamp() - t), '<', 1.0::numeric,
              :'kind' || ': within the connect timeout') FROM t0;
DROP TABLE t0;
