-- Hostile input against every SQL function of the API.
--
-- What it proves (spec sections 3, 6 and 8: "Bad input gets a clear error with the SQLSTATE
-- above and changes nothing"): well over a thousand generated calls of provision_start,
-- provision_status, provision_logs, provision_retry and engine_health, with NULLs, malformed
-- uuid text, random uuids, 1 MB strings as ids, option values, option keys and step names,
-- JSON nested 10,000 and 100,000 levels deep, objects of 100,000 keys, unknown and
-- mistyped option keys, every option with every JSON type, quote- and Unicode-laden names
-- of tenants, companies and engines, and hostile request.jwt.claims, each
--   (a) end in a correct answer (checked: a queued run's document, the run row, the company
--       name kept byte for byte, one health answer per tenant naming its engine ...) or in
--       one of the SQLSTATEs 22023, 22P02, PT404, PT409, 42501 or class 54 (54001 is
--       "stack depth limit exceeded", what too deeply nested JSON gets), and in the one the
--       spec names for that case; a 22023 about an option names the option;
--   (b) change nothing: the row counts and every row of tenants, tenant_onboarding, run_log,
--       tenant_members and engines are the same before and after the cases, and the same
--       as at the file's start once its fixtures are gone;
--   (c) never bring the server down: pg_postmaster_start_time() is unchanged;
--   (d) a company name full of quotes, backslashes and Unicode, given as an option or as the
--       tenant's name, reaches the queued run's provisioning_config intact;
-- and no answer or error message carries the engine's key or secret.
--
-- Each case runs as an admin (the superuser; "as user" cases as provisioning_user with the
-- hostile claims) inside a subtransaction that always rolls back, so a run a case queues is
-- gone before the next case, and provisioning.auto_start is off, so no worker ever starts.
\set ON_ERROR_STOP 1
\set QUIET 1
SET provisioning.auto_start = off;
SET client_min_messages = warning;

\set T_PLAIN  '00000000-0000-4000-8000-0000000011a1'
\set T_UNI    '00000000-0000-4000-8000-0000000011a2'
\set T_FAILED '00000000-0000-4000-8000-0000000011fa'
\set T_NOENG  '00000000-0000-4000-8000-0000000011a4'
\set T_HENG   '00000000-0000-4000-8000-0000000011a5'
\set T_BADSET '00000000-0000-4000-8000-0000000011a6'
\set T_UNKSET '00000000-0000-4000-8000-0000000011a7'
\set T_ODOO   '00000000-0000-4000-8000-0000000011a8'

DROP SCHEMA IF EXISTS tap_hostile CASCADE;
CREATE SCHEMA tap_hostile;

-- Runs of earlier files may still be finishing. The before/after comparisons need tables
-- nobody else writes, so wait (with a deadline) until no run is queued or running; tenants
-- still busy after it are left out of the comparisons (and named in a diagnostic).
CREATE FUNCTION tap_hostile.wait_quiet(timeout_s double precision) RETURNS void LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
    WHILE EXISTS (SELECT FROM provisioning.tenant_onboarding WHERE status IN ('PENDING', 'IN_PROGRESS'))
          AND clock_timestamp() < deadline LOOP
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT tap_hostile.wait_quiet(30) IS NULL AS quiet \gset
CREATE TABLE tap_hostile.busy AS
SELECT DISTINCT tenant_id FROM provisioning.tenant_onboarding WHERE status IN ('PENDING', 'IN_PROGRESS');

-- Everything about the tables that a case could change (busy tenants aside).
CREATE FUNCTION tap_hostile.snapshot() RETURNS jsonb LANGUAGE sql AS
$$
    WITH t AS (SELECT * FROM provisioning.tenants WHERE id NOT IN (SELECT tenant_id FROM tap_hostile.busy)),
         o AS (SELECT * FROM provisioning.tenant_onboarding WHERE tenant_id NOT IN (SELECT tenant_id FROM tap_hostile.busy)),
         l AS (SELECT * FROM provisioning.run_log WHERE tenant_id NOT IN (SELECT tenant_id FROM tap_hostile.busy)),
         m AS (SELECT * FROM provisioning.tenant_members WHERE tenant_id NOT IN (SELECT tenant_id FROM tap_hostile.busy))
    SELECT jsonb_build_object(
        'tenants',           (SELECT count(*) FROM t),
        'tenant_onboarding', (SELECT count(*) FROM o),
        'run_log',           (SELECT count(*) FROM l),
        'tenant_members',    (SELECT count(*) FROM m),
        'engines',           (SELECT count(*) FROM provisioning.engines),
        'tenants rows',      (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM t),
        'onboarding rows',   (SELECT md5(coalesce(string_agg(o::text, '|' ORDER BY o.id), '')) FROM o),
        'run_log rows',      (SELECT md5(coalesce(string_agg(l::text, '|' ORDER BY l.id), '')) FROM l),
        'members rows',      (SELECT md5(coalesce(string_agg(m::text, '|' ORDER BY m.tenant_id, m.user_id), '')) FROM m),
        'engines rows',      (SELECT md5(coalesce(string_agg(e::text, '|' ORDER BY e.name), '')) FROM provisioning.engines e))
$$;

-- (left over by an interrupted earlier run, if any)
DELETE FROM provisioning.tenants
 WHERE id IN (:'T_PLAIN', :'T_UNI', :'T_FAILED', :'T_NOENG', :'T_HENG', :'T_BADSET', :'T_UNKSET', :'T_ODOO')
    OR id::text LIKE '00000000-0000-4000-8000-0000000012__';
DELETE FROM provisioning.engines WHERE name IN ('tap_hostile', 'tap_hostile_names', 'tap_hostile_odoo', E'tap_hostile O''Brien "Ü" 😀 \\ ;');

CREATE TABLE tap_hostile.at_start AS
SELECT pg_postmaster_start_time() AS postmaster_started, tap_hostile.snapshot() AS snap;

----------------------------------------------------------------------------------------------------
-- Fixtures
----------------------------------------------------------------------------------------------------
-- Engines nobody answers at; one with a name and a URL full of quotes and Unicode, and an
-- Odoo engine whose database (it travels in the JSON-RPC body) is full of them.
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret) VALUES
    ('tap_hostile', 'erpnext', 'http://127.0.0.1:9', 'tap-hostile-key', 'tap-hostile-engine-secret'),
    ('tap_hostile_names', 'erpnext', 'http://127.0.0.1:9', 'tap-hostile-key', 'tap-hostile-engine-secret'),
    (E'tap_hostile O''Brien "Ü" 😀 \\ ;', 'erpnext', E'http://127.0.0.1:9/"\\''/q=%00&x=😀',
     'tap-hostile-key', 'tap-hostile-engine-secret'),
    ('tap_hostile_odoo', 'odoo', 'http://127.0.0.1:9', 'tap-hostile-key', 'tap-hostile-engine-secret');
UPDATE provisioning.engines SET options = jsonb_build_object('database', E'db " O''Brien 😀 \\ ; }]\u0001')
 WHERE name = 'tap_hostile_odoo';

INSERT INTO provisioning.tenants (id, name, engine, settings) VALUES
    (:'T_PLAIN',  'Hostile Retail', 'tap_hostile', '{}'),
    (:'T_UNI',    E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; --', 'tap_hostile', '{}'),
    (:'T_FAILED', 'Hostile Failed Run', 'tap_hostile', '{}'),
    (:'T_NOENG',  'Hostile No Engine', NULL, '{}'),
    (:'T_HENG',   'Hostile Engine Name', E'tap_hostile O''Brien "Ü" 😀 \\ ;', '{}'),
    (:'T_BADSET', 'Hostile Bad Setting', 'tap_hostile', '{"currency": 978}'),
    (:'T_UNKSET', 'Hostile Unknown Setting', 'tap_hostile', '{"colour": "red"}'),
    (:'T_ODOO',   'Hostile Odoo', 'tap_hostile_odoo', '{}');
INSERT INTO provisioning.tenant_members (tenant_id, user_id) VALUES
    (:'T_PLAIN', 'tap-hostile-user'),
    (:'T_PLAIN', E'Ünïcødé "user" \\ 😀');

-- T_FAILED has a finished run whose chart of accounts failed, so provision_retry has
-- something to retry: steps 0-2 completed, 3 failed, the rest never ran.
INSERT INTO provisioning.tenant_onboarding
       (tenant_id, status, started_at, finished_at, provisioning_type, provisioning_config,
        provisioning_steps, error_step, error_kind)
SELECT :'T_FAILED', 'FAILED', now(), now(), 'FULL_POS',
       provisioning._run_config(t, '{}'),
       (SELECT jsonb_agg(jsonb_build_object(
                   'step', c.step,
                   'status', CASE WHEN c.position < 3 THEN 'completed' WHEN c.position = 3 THEN 'failed'
                                  WHEN c.condition = 'demo_data' THEN 'skipped' ELSE 'pending' END,
                   'critical', c.critical, 'attempts', CASE WHEN c.position <= 3 THEN 1 ELSE 0 END,
                   'started_at', NULL, 'finished_at', NULL, 'duration_ms', NULL,
                   'message', CASE WHEN c.position = 3 THEN 'no accounts were imported' END)
                 ORDER BY c.position)
          FROM provisioning.step_catalog c WHERE c.engine_kind = 'erpnext' AND c.operation = 'FULL_POS'),
       'step_3_chart_of_accounts', 'permanent'
  FROM provisioning.tenants t WHERE t.id = :'T_FAILED';
UPDATE provisioning.tenants SET provisioning_status = 'FAILED' WHERE id = :'T_FAILED';

-- Hostile names, for companies (as an option) and for tenants (company_name defaults to
-- the name). ok: a valid company name (1 to 140 characters, no control characters).
CREATE TABLE tap_hostile.names (n integer PRIMARY KEY, name text NOT NULL, ok boolean NOT NULL);
INSERT INTO tap_hostile.names (n, name, ok)
SELECT row_number() OVER (), name, ok FROM (VALUES
    (E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; --', true),
    (E'Robert''); DROP TABLE provisioning.tenants;--', true),
    ('%s %n %x %d %%', true),
    ('${jndi:ldap://127.0.0.1/x}', true),
    ('<script>alert("x")</script>', true),
    (E'\\\\server\\share\\', true),
    ('"', true),
    ('''', true),
    (E'\\', true),
    (E'\\n is not a newline', true),
    ('Ünïcødé Ltd — “smart quotes” ‘single’ …', true),
    ('شركة الاختبار', true),
    ('חברת בדיקה', true),
    ('测试公司 株式会社テスト 테스트', true),
    (E'Ze\u0301ro Cafe\u0301', true),
    ('👨‍👩‍👧‍👦 Family Shop', true),
    (repeat('😀', 140), true),
    (repeat('é', 140), true),
    ('{"company_name": "x"}', true),
    ('null', true),
    ('/* comment */ -- comment', true),
    ('  padded  ', true),
    ('', false),
    (repeat('a', 141), false),
    (repeat('😀', 141), false),
    (repeat('x', 1048576), false),
    (E'Bad\nName', false),
    (E'Tab\tName', false),
    (E'Bell\u0007', false),
    (E'Del\u007f', false)
) AS v(name, ok);

-- A tenant per hostile name: 00000000-0000-4000-8000-0000000012NN, on an engine of their own
-- (one of them is T_UNI's company)
INSERT INTO provisioning.tenants (id, name, engine)
SELECT format('00000000-0000-4000-8000-0000000012%s', to_char(n, 'FM00'))::uuid, name, 'tap_hostile_names'
  FROM tap_hostile.names;

----------------------------------------------------------------------------------------------------
-- The cases
----------------------------------------------------------------------------------------------------
CREATE TABLE tap_hostile.cases (
    id      serial PRIMARY KEY,
    grp     text NOT NULL,     -- what is tried
    fn      text NOT NULL,     -- which call (see tap_hostile.statement)
    a1      text,              -- the tenant id as text; for engine_health a uuid[] literal
    a2      text,              -- options (JSON text) for provision_start, the step for
                               -- provision_retry, request.jwt.claims for the "as user" calls
    expect  text[] NOT NULL,   -- the outcomes the spec names: 'OK' or SQLSTATEs
    key     text,              -- the option key a 22023 must name
    company text               -- a queued run's config must hold this company name
);

CREATE FUNCTION tap_hostile.statement(fn text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$
    SELECT CASE fn
        WHEN 'provision_start' THEN 'SELECT provisioning.provision_start($1::uuid, $2::jsonb)'
        WHEN 'provision_start twice' THEN
            'WITH first AS MATERIALIZED (SELECT provisioning.provision_start($1::uuid) AS d)
             SELECT provisioning.provision_start($1::uuid, $2::jsonb) FROM first'
        WHEN 'provision_status' THEN 'SELECT provisioning.provision_status($1::uuid)'
        WHEN 'provision_logs' THEN
            'SELECT coalesce(jsonb_agg(to_jsonb(l)), ''[]'') FROM provisioning.provision_logs($1::uuid) l'
        WHEN 'provision_retry' THEN 'SELECT provisioning.provision_retry($1::uuid, $2)'
        WHEN 'provision_retry while queued' THEN
            'WITH first AS MATERIALIZED (SELECT provisioning.provision_retry($1::uuid) AS d)
             SELECT provisioning.provision_retry($1::uuid, $2) FROM first'
        WHEN 'engine_health' THEN 'SELECT provisioning.engine_health($1::uuid[])'
        WHEN 'provision_status as user' THEN 'SELECT provisioning.provision_status($1::uuid)'
        WHEN 'provision_start as user' THEN 'SELECT provisioning.provision_start($1::uuid)'
    END
$$;

-- Quotes a text as one element of an array literal.
CREATE FUNCTION tap_hostile.element(v text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v IS NULL THEN 'NULL' ELSE '"' || replace(replace(v, E'\\', E'\\\\'), '"', E'\\"') || '"' END $$;

-- G1. Tenant ids: NULL, malformed text, random uuids, and valid spellings of a real one;
-- each against every function.
CREATE TEMP TABLE ids (grp text, id text, expect text);
INSERT INTO ids SELECT 'null tenant id', NULL, '22023';
INSERT INTO ids SELECT 'malformed tenant id', v, '22P02' FROM (VALUES
    (''), (' '), ('null'), ('NULL'), ('undefined'), ('0'), ('-1'), ('1e10'), ('true'), ('[]'), ('{}'),
    ('not-a-uuid'), ('00000000-0000-4000-8000-0000000011aO'), (' 00000000-0000-4000-8000-0000000011a1'),
    ('00000000-0000-4000-8000-0000000011a1 '), (E'00000000-0000-4000-8000-0000000011a1\n'),
    (E'\t00000000-0000-4000-8000-0000000011a1'), ('00000000-0000-4000-8000-0000000011a1;'),
    ('00000000-0000-4000-8000-0000000011a1''; DROP TABLE provisioning.tenants; --'),
    ('''; DROP TABLE provisioning.tenants; --'), ('" OR 1=1 --'), (E'\\x00'), ('%00'), ('%s%s%s%n'),
    ('００００００００-００００-４０００-８０００-００００００００１１ａ１'), ('😀'), (repeat('😀', 36)),
    ('{00000000-0000-4000-8000-0000000011a1'), ('(00000000-0000-4000-8000-0000000011a1)'),
    ('urn:uuid:00000000-0000-4000-8000-0000000011a1'), ('00000000-0000-4000-8000-0000000011a1-0000'),
    ('000000000000400080000000000011a10'), ('0x000000000000400080000000000011a1'),
    ('00000000--0000-4000-8000-0000000011a1'), ('-00000000-0000-4000-8000-0000000011a1'),
    ('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'), ('"00000000-0000-4000-8000-0000000011a1"'),
    (repeat('00000000-0000-4000-8000-0000000011a1', 2)), (repeat('x', 1048576)), (repeat('0', 1048576)),
    (repeat('😀', 262144))) AS v(v);
INSERT INTO ids SELECT 'malformed tenant id (truncated)', left('00000000-0000-4000-8000-0000000011a1', n), '22P02'
  FROM generate_series(1, 35) n;
INSERT INTO ids SELECT 'malformed tenant id (bad character)', overlay('00000000-0000-4000-8000-0000000011a1' PLACING c FROM n FOR 1), '22P02'
  FROM generate_series(1, 36) n, LATERAL (SELECT (ARRAY['g', 'ü', '''', '"', ' ', '😀'])[1 + n % 6] AS c) x;
INSERT INTO ids SELECT 'random tenant id', md5('tap_hostile' || n)::uuid::text, 'PT404' FROM generate_series(1, 100) n;
INSERT INTO ids VALUES ('random tenant id', '00000000-0000-0000-0000-000000000000', 'PT404'),
                       ('random tenant id', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'PT404');
INSERT INTO ids SELECT 'valid spelling of a tenant id', v, 'OK' FROM (VALUES
    ('00000000-0000-4000-8000-0000000011fa'), ('00000000-0000-4000-8000-0000000011FA'),
    ('000000000000400080000000000011fa'), ('{00000000-0000-4000-8000-0000000011fa}'),
    ('0000-0000-0000-4000-8000-0000-0000-11fa'), ('{000000000000400080000000000011FA}')) AS v(v);

INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT i.grp, f.fn,
       CASE WHEN f.fn = 'engine_health' THEN CASE WHEN i.id IS NULL THEN NULL ELSE '{' || tap_hostile.element(i.id) || '}' END
            ELSE i.id END,
       CASE f.fn WHEN 'provision_start' THEN '{}' END,
       ARRAY[i.expect]
  FROM ids i,
       (VALUES ('provision_start'), ('provision_status'), ('provision_logs'), ('provision_retry'), ('engine_health')) f(fn);

-- G2. Options of provision_start.
-- Every option with every JSON type: the right type with a valid value is accepted, any
-- other type is 22023.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key)
SELECT format('option %s as %s', k.key, s.typ), 'provision_start', :'T_PLAIN',
       jsonb_build_object(k.key, s.v::jsonb)::text,
       CASE WHEN s.typ = k.typ AND NOT (k.key = 'provisioning_type' AND s.v = '"x"') THEN '{OK}' ELSE '{22023}' END::text[],
       k.key
  FROM (VALUES ('company_name', 'string', '"Hostile Co"'), ('abbr', 'string', '"HC"'),
               ('currency', 'string', '"EUR"'), ('country', 'string', '"Ireland"'),
               ('chart_of_accounts', 'string', '"Standard"'), ('include_demo_data', 'boolean', 'true'),
               ('pos_store_enabled', 'boolean', 'false'), ('pos_user', 'string', '"pos@example.com"'),
               ('provisioning_type', 'string', '"BASIC"')) AS k(key, typ, good),
       LATERAL (VALUES ('string', '"x"'), ('number', '1'), ('number', '0'), ('number', '-1.5e3'),
                       ('number', '1e400'), ('boolean', 'true'), ('boolean', 'false'), ('null', 'null'),
                       ('array', '[]'), ('array', '["x"]'), ('object', '{}'), ('object', '{"x": 1}'),
                       (k.typ, k.good)) AS s(typ, v);

-- Strings that are too long, empty, or carry control characters; quote- and Unicode-laden ones.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key, company)
SELECT format('option %s: %s', k, s.what), 'provision_start', :'T_PLAIN',
       jsonb_build_object(k, s.v)::text,
       CASE WHEN s.ok AND k <> 'provisioning_type' THEN '{OK}' ELSE '{22023}' END::text[],
       k,
       CASE WHEN s.ok AND k = 'company_name' THEN s.v END
  FROM unnest(ARRAY['company_name', 'abbr', 'currency', 'country', 'chart_of_accounts', 'pos_user',
                    'provisioning_type']) AS k,
       LATERAL (VALUES ('empty', '', false), ('140 characters', repeat('a', 140), true),
                       ('141 characters', repeat('a', 141), false), ('140 é', repeat('é', 140), true),
                       ('141 emoji', repeat('😀', 141), false), ('1 MB', repeat('x', 1048576), false),
                       ('1 MB of emoji', repeat('😀', 262144), false),
                       ('\u0001', E'a\u0001b', false), ('newline', E'a\nb', false), ('tab', E'a\tb', false),
                       ('DEL', E'a\u007fb', false), ('carriage return', E'a\rb', false),
                       ('quotes and Unicode', E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE x; --', true),
                       ('a space', ' ', true)) AS s(what, v, ok);

-- provisioning_type is FULL_POS or BASIC, exactly.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key)
SELECT 'option provisioning_type = ' || v, 'provision_start', :'T_PLAIN',
       jsonb_build_object('provisioning_type', v)::text,
       CASE WHEN v IN ('FULL_POS', 'BASIC') THEN '{OK}' ELSE '{22023}' END::text[], 'provisioning_type'
  FROM unnest(ARRAY['FULL_POS', 'BASIC', 'basic', 'Basic', 'FULL_POS ', ' BASIC', 'FULL-POS', 'POS',
                    'FULL_POS,BASIC', 'BASIC''; --']) AS v;

-- Unknown keys: misspellings, other columns' names, odd characters, a 1 MB key.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key)
SELECT 'unknown option key', 'provision_start', :'T_PLAIN', jsonb_build_object(k, 'x')::text, '{22023}', k
  FROM unnest(ARRAY['colour', 'Company_Name', 'COMPANY_NAME', ' company_name', 'company_name ',
                    'company-name', 'companyName', 'company_name2', '', ' ', '😀', '"', '''', E'\\',
                    E'company_name\n', 'settings', 'tenant_id', 'run_id', 'engine', 'api_key', 'api_secret',
                    'status', '__proto__', 'constructor', 'include_demo_data.x', 'options', 'step',
                    'provisioning_config', '$where', '%s', 'ünïcødé', repeat('k', 1048576)]
                    || ARRAY(SELECT 'key_' || n FROM generate_series(1, 30) n)) AS k;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key)
VALUES ('unknown option key beside valid ones', 'provision_start', :'T_PLAIN',
        '{"company_name": "Co", "abbr": "C", "currency": "EUR", "country": "Ireland", "chart_of_accounts": "Standard",
          "include_demo_data": true, "pos_store_enabled": true, "pos_user": "u", "provisioning_type": "BASIC",
          "colour": "red"}', '{22023}', 'colour');

-- Options that are not an object, or not JSON at all.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'options not an object', 'provision_start', :'T_PLAIN', v, '{22023}'
  FROM unnest(ARRAY['null', '[]', '[{}]', '1', '-0', '"{}"', 'true', '"x"',
                    '[{"company_name": "x"}]', '[["include_demo_data", true]]']) AS v;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
VALUES ('options SQL NULL (the default applies)', 'provision_start', :'T_PLAIN', NULL, '{OK}');
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'options not JSON', 'provision_start', :'T_PLAIN', v, '{22P02}'
  FROM unnest(ARRAY['', ' ', '{', '}', '{"a":}', '{''a'': 1}', '{"a": 1,}', 'NaN', 'Infinity',
                    '{"include_demo_data": True}', '{"company_name": "x"', '{"company_name": "\ud800"}',
                    '{"company_name": "\x41"}', '{"company_name": "a" "b"}', '{company_name: "x"}',
                    '{"company_name": "x"} {}', '{"include_demo_data": 0x1}',
                    repeat('{"a": ', 1000), '{"company_name": "' || repeat('x', 1048576)]) AS v;

-- Deeply nested and huge JSON.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
VALUES
    ('options: an array nested 10,000 deep', 'provision_start', :'T_PLAIN',
     repeat('[', 10000) || repeat(']', 10000), '{22023,54001}'),
    ('options: an array nested 100,000 deep', 'provision_start', :'T_PLAIN',
     repeat('[', 100000) || repeat(']', 100000), '{22023,54001}'),
    ('options: 100,000 unclosed brackets', 'provision_start', :'T_PLAIN', repeat('[', 100000), '{22P02,54001}'),
    ('options: objects nested 10,000 deep', 'provision_start', :'T_PLAIN',
     repeat('{"a": ', 10000) || '1' || repeat('}', 10000), '{22023,54001}'),
    ('options: company_name nested 10,000 deep', 'provision_start', :'T_PLAIN',
     '{"company_name": ' || repeat('[', 10000) || '"x"' || repeat(']', 10000) || '}', '{22023,54001}'),
    ('options: include_demo_data nested 100,000 deep', 'provision_start', :'T_PLAIN',
     '{"include_demo_data": ' || repeat('[', 100000) || repeat(']', 100000) || '}', '{22023,54001}'),
    ('options: 100,000 unknown keys', 'provision_start', :'T_PLAIN',
     (SELECT jsonb_object_agg('k' || n, n)::text FROM generate_series(1, 100000) n), '{22023}'),
    ('options: 100,000 keys with random names', 'provision_start', :'T_PLAIN',
     (SELECT jsonb_object_agg(md5(n::text), n)::text FROM generate_series(1, 100000) n), '{22023}'),
    ('options: abbr given 10,000 times', 'provision_start', :'T_PLAIN',
     '{' || (SELECT string_agg(format('"abbr": "A%s"', n), ', ') FROM generate_series(1, 10000) n) || '}', '{OK}'),
    ('options: an array of 100,000 elements', 'provision_start', :'T_PLAIN',
     (SELECT jsonb_agg(n)::text FROM generate_series(1, 100000) n), '{22023}'),
    ('options: a 1 MB array as company_name', 'provision_start', :'T_PLAIN',
     jsonb_build_object('company_name', (SELECT jsonb_agg('xxxxxxxxxx'::text) FROM generate_series(1, 80000)))::text, '{22023}'),
    ('options: a valid object padded with 1 MB of white space', 'provision_start', :'T_PLAIN',
     '{' || repeat(' ', 1048576) || '"abbr": "HC"' || repeat(E'\n', 1000) || '}', '{OK}');

-- Quote- and Unicode-laden company names given as an option reach the run intact; the
-- one T_UNI holds on the same engine is refused (one company per engine: 23505).
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, key, company)
SELECT 'company_name option: hostile name ' || n, 'provision_start', :'T_PLAIN',
       jsonb_build_object('company_name', name)::text,
       CASE WHEN NOT ok THEN '{22023}' WHEN n = 1 THEN '{23505}' ELSE '{OK}' END::text[], 'company_name',
       CASE WHEN ok AND n <> 1 THEN name END
  FROM tap_hostile.names;

-- A second start, or a retry, while a run is queued: PT409 (bad options are still 22023).
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'start while a run is queued', 'provision_start twice', t, o,
       CASE WHEN o LIKE '%colour%' THEN '{22023}' ELSE '{PT409}' END::text[]
  FROM unnest(ARRAY[:'T_PLAIN', :'T_UNI', :'T_FAILED', :'T_HENG']) t,
       unnest(ARRAY['{}', '{"provisioning_type": "BASIC"}', '{"include_demo_data": true}', '{"colour": "red"}']) o;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'retry while a run is queued', 'provision_retry while queued', :'T_FAILED', s, '{PT409}'
  FROM unnest(ARRAY[NULL, 'step_0_engine_check', 'step_3_chart_of_accounts', 'no_such_step']) s;

-- G3. Step names of provision_retry, on the tenant whose chart of accounts failed: steps up
-- to the failed one may be retried, later ones are blocked by it, unknown ones are 22023.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'retry from ' || coalesce(step, 'the default step'), 'provision_retry', :'T_FAILED', step,
       CASE WHEN step IS NULL OR position <= 3 THEN '{OK}' ELSE '{22023}' END::text[]
  FROM (SELECT step, position FROM provisioning.step_catalog WHERE engine_kind = 'erpnext' AND operation = 'FULL_POS'
        UNION ALL SELECT NULL, NULL) s;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'retry from a misspelled step', 'provision_retry', :'T_FAILED', v, '{22023}'
  FROM (SELECT step FROM provisioning.step_catalog WHERE engine_kind = 'erpnext' AND operation = 'FULL_POS') c,
       LATERAL unnest(ARRAY[upper(c.step), ' ' || c.step, c.step || ' ', c.step || E'\n',
                            replace(c.step, '_', '-'), left(c.step, -1), c.step || 'x',
                            c.step || ''';--', c.step || '%']) v;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'retry from an unknown step', 'provision_retry', :'T_FAILED', v, '{22023}'
  FROM unnest(ARRAY['', ' ', '%', '_', 'step_%', '*', '.*', 'null', 'NULL', 'step_3', 'chart_of_accounts',
                    '😀', E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; --',
                    repeat('x', 1048576), repeat('step_0_engine_check', 55188), repeat('😀', 262144)]
                || ARRAY(SELECT 'step_' || n FROM generate_series(10, 40) n)) v;
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'retry a tenant never provisioned', 'provision_retry', t, s, '{22023}'
  FROM unnest(ARRAY[:'T_PLAIN', :'T_UNI', :'T_NOENG', :'T_HENG']) t,
       unnest(ARRAY[NULL, 'step_0_engine_check', 'no_such_step']) s;

-- G4. engine_health arrays.
INSERT INTO tap_hostile.cases (grp, fn, a1, expect)
VALUES
    ('health: no tenants', 'engine_health', '{}', '{OK}'),
    ('health: a NULL element', 'engine_health', '{NULL}', '{22023}'),
    ('health: a NULL beside a tenant', 'engine_health', format('{%s,NULL}', :'T_PLAIN'), '{22023}'),
    ('health: every kind of tenant', 'engine_health',
     format('{%s,%s,%s,%s,%s,%s}', :'T_PLAIN', :'T_UNI', :'T_FAILED', :'T_NOENG', :'T_HENG', :'T_BADSET'), '{OK}'),
    ('health: a tenant whose engine has a hostile name', 'engine_health', format('{%s}', :'T_HENG'), '{OK}'),
    ('health: a tenant without engine', 'engine_health', format('{%s}', :'T_NOENG'), '{OK}'),
    ('health: a tenant on an Odoo engine with a hostile database name', 'engine_health', format('{%s}', :'T_ODOO'), '{OK}'),
    ('health: 1,000 times one tenant', 'engine_health',
     '{' || (SELECT string_agg(:'T_PLAIN', ',') FROM generate_series(1, 1000)) || '}', '{OK}'),
    ('health: 1,001 tenants', 'engine_health',
     '{' || (SELECT string_agg(:'T_PLAIN', ',') FROM generate_series(1, 1001)) || '}', '{22023}'),
    ('health: 1,000 unknown tenants', 'engine_health',
     (SELECT array_agg(md5('tap_hostile health' || n)::uuid)::text FROM generate_series(1, 1000) n), '{PT404}'),
    ('health: 100,000 unknown tenants', 'engine_health',
     (SELECT array_agg(md5('tap_hostile health' || n)::uuid)::text FROM generate_series(1, 100000) n), '{22023}'),
    ('health: a known and an unknown tenant', 'engine_health',
     format('{%s,%s}', :'T_PLAIN', md5('x')::uuid), '{PT404}'),
    ('health: a two-dimensional array', 'engine_health',
     format('{{%s,%s},{%s,%s}}', :'T_PLAIN', :'T_UNI', :'T_HENG', :'T_NOENG'), '{OK}'),
    ('health: explicit bounds', 'engine_health', format('[0:1]={%s,%s}', :'T_PLAIN', :'T_UNI'), '{OK}');
INSERT INTO tap_hostile.cases (grp, fn, a1, expect)
SELECT 'health: a malformed array', 'engine_health', v, '{22P02}'
  FROM unnest(ARRAY['', '{', '}', '[]', :'T_PLAIN', '{' || :'T_PLAIN', :'T_PLAIN' || '}',
                    '{' || :'T_PLAIN' || '}}', '{{' || :'T_PLAIN' || '}', '{' || :'T_PLAIN' || ',}',
                    '{,' || :'T_PLAIN' || '}', '{"' || :'T_PLAIN' || '}', '{{' || :'T_PLAIN' || '},' || :'T_PLAIN' || '}',
                    '[1:2]={' || :'T_PLAIN' || '}',
                    '{' || repeat('x', 1048576) || '}', 'null', '["' || :'T_PLAIN' || '"]']) v;
INSERT INTO tap_hostile.cases (grp, fn, a1, expect)
VALUES ('health: an array of 101 dimensions', 'engine_health',
        repeat('{', 101) || :'T_PLAIN' || repeat('}', 101), '{54000}');

-- G5. Tenants with hostile names: the name is the company name unless settings say otherwise.
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, company)
SELECT 'tenant with hostile name ' || n, f.fn,
       CASE WHEN f.fn = 'engine_health' THEN '{' || id || '}' ELSE id END,
       CASE f.fn WHEN 'provision_start' THEN '{}' END,
       CASE WHEN f.fn = 'provision_retry' THEN '{22023}'
            WHEN f.fn = 'provision_start' AND NOT ok THEN '{22023}'
            ELSE '{OK}' END::text[],
       CASE WHEN f.fn = 'provision_start' AND ok THEN name END
  FROM tap_hostile.names,
       LATERAL (SELECT format('00000000-0000-4000-8000-0000000012%s', to_char(n, 'FM00')) AS id) i,
       (VALUES ('provision_start'), ('provision_status'), ('provision_logs'), ('provision_retry'),
               ('engine_health')) f(fn);
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect, company)
VALUES
    ('tenant with a quote- and Unicode-laden name', 'provision_start', :'T_UNI', '{}', '{OK}',
     E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; --'),
    ('tenant on an engine with a hostile name', 'provision_start', :'T_HENG', '{}', '{OK}', 'Hostile Engine Name'),
    ('tenant without engine', 'provision_start', :'T_NOENG', '{}', '{22023}', NULL),
    ('tenant with a setting of the wrong type', 'provision_start', :'T_BADSET', '{}', '{22023}', NULL),
    ('tenant with a setting of the wrong type, overridden', 'provision_start', :'T_BADSET', '{"currency": "EUR"}', '{22023}', NULL),
    ('tenant with an unknown setting', 'provision_start', :'T_UNKSET', '{}', '{22023}', NULL);

-- G6. Hostile request.jwt.claims for provisioning_user (T_PLAIN's members are
-- tap-hostile-user and a Unicode-laden user id).
INSERT INTO tap_hostile.cases (grp, fn, a1, a2, expect)
SELECT 'claims: ' || left(c, 60), f, :'T_PLAIN', c, e::text[]
  FROM (VALUES ('{"sub": "tap-hostile-user"}', '{OK}'),
               ('{"sub": "tap-hostile-user", "exp": 4102444800}', '{OK}'),
               ('{"sub": "tap-hostile-user", "exp": 1e400}', '{OK}'),
               ('  {"sub": "tap-hostile-user"}  ', '{OK}'),
               ('{"sub": "nobody", "sub": "tap-hostile-user"}', '{OK}'),
               (jsonb_build_object('sub', E'Ünïcødé "user" \\ 😀')::text, '{OK}'),
               ('{"sub": "tap-hostile-user", "exp": 1}', '{42501}'),
               ('{"sub": "tap-hostile-user", "exp": -1e400}', '{42501}'),
               ('{"sub": "tap-hostile-user", "exp": "4102444800"}', '{42501}'),
               ('{"sub": "tap-hostile-user", "exp": null}', '{42501}'),
               ('{"sub": "tap-hostile-user", "exp": [4102444800]}', '{42501}'),
               ('{"sub": "tap-hostile-user", "exp": NaN}', '{42501}'),
               ('', '{42501}'), ('{', '{42501}'), ('null', '{42501}'), ('[]', '{42501}'),
               ('"tap-hostile-user"', '{42501}'), ('{}', '{42501}'), ('{"sub": null}', '{42501}'),
               ('{"sub": ""}', '{42501}'), ('{"sub": 123}', '{42501}'),
               ('{"sub": ["tap-hostile-user"]}', '{42501}'), ('{"sub": {"sub": "tap-hostile-user"}}', '{42501}'),
               ('{"sub": "TAP-HOSTILE-USER"}', '{42501}'), ('{"sub": "tap-hostile-user "}', '{42501}'),
               ('{"sub": "tap-hostile-user''; --"}', '{42501}'),
               ('{"role": "provisioning_admin"}', '{42501}'),
               ('{"role": "provisioning_admin", "sub": "root"}', '{42501}'),
               ('{"sub": "' || repeat('x', 1048576) || '"}', '{42501}'),
               (repeat('[', 10000) || repeat(']', 10000), '{42501,54001}'),
               (repeat('[', 100000) || repeat(']', 100000), '{42501,54001}'),
               ('{"sub": ' || repeat('[', 100000) || repeat(']', 100000) || '}', '{42501,54001}'),
               ((SELECT jsonb_object_agg('k' || n, n)::text FROM generate_series(1, 100000) n), '{42501}')
       ) AS v(c, e),
       unnest(ARRAY['provision_status as user', 'provision_start as user']) f;

----------------------------------------------------------------------------------------------------
-- Running them
----------------------------------------------------------------------------------------------------
-- A correct answer, or why it is not (NULL: correct).
CREATE FUNCTION tap_hostile.check_answer(fn text, a1 text, company text, res jsonb) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    run provisioning.tenant_onboarding;
    ids uuid[];
BEGIN
    IF res IS NULL THEN
        RETURN 'no answer';
    END IF;
    IF fn LIKE 'provision_start%' OR fn LIKE 'provision_retry%' THEN
        IF res->>'status' IS DISTINCT FROM 'PENDING' OR res->>'tenant_status' IS DISTINCT FROM 'PROVISIONING'
           OR (res->>'tenant_id')::uuid IS DISTINCT FROM a1::uuid
           OR jsonb_array_length(res->'steps') IS DISTINCT FROM (res->>'steps_total')::integer
           OR NOT (res->>'progress')::integer BETWEEN 0 AND 99 THEN
            RETURN 'not the status document of a queued run: ' || left(res::text, 300);
        END IF;
        SELECT * INTO run FROM provisioning.tenant_onboarding WHERE id = (res->>'run_id')::uuid;
        IF NOT FOUND OR run.status <> 'PENDING' THEN
            RETURN 'no queued run behind the answer';
        END IF;
        IF company IS NOT NULL AND run.provisioning_config->>'company_name' IS DISTINCT FROM company THEN
            RETURN 'the company name was not kept: ' || left(run.provisioning_config->>'company_name', 200);
        END IF;
    ELSIF fn LIKE 'provision_status%' THEN
        IF (res->>'tenant_id')::uuid IS DISTINCT FROM a1::uuid
           OR res->>'status' NOT IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED') THEN
            RETURN 'not a status document: ' || left(res::text, 300);
        END IF;
    ELSIF fn = 'provision_logs' THEN
        IF jsonb_typeof(res) <> 'array' THEN
            RETURN 'not a set of log rows';
        END IF;
    ELSIF fn = 'engine_health' THEN
        ids := a1::uuid[];
        IF jsonb_typeof(res) <> 'array' OR jsonb_array_length(res) <> cardinality(ids) THEN
            RETURN format('%s answers for %s tenants', jsonb_array_length(res), cardinality(ids));
        END IF;
        IF EXISTS (SELECT FROM jsonb_array_elements(res) WITH ORDINALITY AS e(v, n)
                     JOIN unnest(ids) WITH ORDINALITY AS u(id, m) ON m = n
                     LEFT JOIN provisioning.tenants t ON t.id = u.id
                    WHERE (e.v->>'tenant_id')::uuid IS DISTINCT FROM u.id
                       OR e.v->>'engine' IS DISTINCT FROM t.engine
                       OR e.v->>'status' NOT IN ('online', 'offline', 'unauthorized')) THEN
            RETURN 'an answer does not match its tenant: ' || left(res::text, 300);
        END IF;
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN 'checking the answer failed: ' || SQLERRM;
END
$$;

CREATE TABLE tap_hostile.results (
    id      integer PRIMARY KEY REFERENCES tap_hostile.cases,
    outcome text NOT NULL,     -- 'OK' or the SQLSTATE
    message text,              -- the error message (shortened)
    why     text,              -- an answer that is not correct
    leaked  boolean NOT NULL   -- the engine's key or secret in the answer or the message
);

CREATE FUNCTION tap_hostile.run_cases() RETURNS integer LANGUAGE plpgsql AS
$$
DECLARE
    c       tap_hostile.cases;
    res     jsonb;
    st      text;
    msg     text;
    why     text;
    n       integer := 0;
BEGIN
    FOR c IN SELECT * FROM tap_hostile.cases ORDER BY id LOOP
        res := NULL; st := NULL; msg := NULL; why := NULL;
        BEGIN
            IF c.fn LIKE '% as user' THEN
                PERFORM set_config('role', 'provisioning_user', true),
                        set_config('request.jwt.claims', c.a2, true);
            END IF;
            EXECUTE tap_hostile.statement(c.fn) INTO res USING c.a1, c.a2;
            PERFORM set_config('role', 'none', true);
            why := tap_hostile.check_answer(c.fn, c.a1, c.company, res);
            RAISE SQLSTATE 'TPOK0';    -- roll back whatever the call queued
        EXCEPTION
            WHEN SQLSTATE 'TPOK0' THEN
                st := 'OK';
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        INSERT INTO tap_hostile.results (id, outcome, message, why, leaked)
        VALUES (c.id, st, left(msg, 400), why,
                concat(msg, res::text) ~ 'tap-hostile-engine-secret|tap-hostile-key');
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

CREATE VIEW tap_hostile.report AS
SELECT c.id, c.grp, c.fn, c.expect, c.key, r.outcome, r.message, r.why, r.leaked,
       format('#%s %s [%s] tenant=%s arg=%s: got %s%s, expected %s', c.id, c.fn, c.grp,
              coalesce(left(c.a1, 60), 'NULL') || CASE WHEN length(c.a1) > 60 THEN '…' ELSE '' END,
              coalesce(left(c.a2, 60), 'NULL') || CASE WHEN length(c.a2) > 60 THEN '…' ELSE '' END,
              r.outcome, coalesce(' (' || left(coalesce(r.why, r.message), 200) || ')', ''),
              array_to_string(c.expect, '|')) AS line
  FROM tap_hostile.cases c JOIN tap_hostile.results r USING (id);

SELECT plan(11);

CREATE TABLE tap_hostile.before AS SELECT tap_hostile.snapshot() AS snap;
SELECT tap_hostile.run_cases() AS cases_run \gset
CREATE TABLE tap_hostile.after AS SELECT tap_hostile.snapshot() AS snap;

SELECT cmp_ok(:cases_run, '>=', 1000, format('%s generated cases ran', :cases_run));
SELECT diag(format('%s: %s', fn, string_agg(format('%s × %s', n, outcome), ', ' ORDER BY outcome)))
  FROM (SELECT fn, outcome, count(*) AS n FROM tap_hostile.report GROUP BY 1, 2) x GROUP BY fn ORDER BY fn;

-- (a)
SELECT ok(NOT EXISTS (SELECT FROM tap_hostile.report
                       WHERE outcome <> ALL ('{OK,22023,22P02,PT404,PT409,42501,23505,54000,54001}')
                          OR (outcome = 'OK' AND why IS NOT NULL)),
          '(a) every case ended in a correct answer or in 22023, 22P02, PT404, PT409, 42501, 23505 or 54xxx');
SELECT diag('outside the allowed outcomes: ' || line) FROM tap_hostile.report
 WHERE outcome <> ALL ('{OK,22023,22P02,PT404,PT409,42501,23505,54000,54001}') OR (outcome = 'OK' AND why IS NOT NULL)
 ORDER BY id LIMIT 40;

SELECT ok(NOT EXISTS (SELECT FROM tap_hostile.report WHERE outcome <> ALL (expect)),
          'every case got the outcome the spec names for it');
SELECT diag('not the outcome the spec names: ' || line) FROM tap_hostile.report
 WHERE outcome <> ALL (expect) ORDER BY id LIMIT 40;

SELECT ok(NOT EXISTS (SELECT FROM tap_hostile.report
                       WHERE outcome = '22023' AND key IS NOT NULL AND length(key) <= 100
                         AND position(key IN message) = 0),
          'a 22023 about an option names the option');
SELECT diag('the message does not name the key: ' || line) FROM tap_hostile.report
 WHERE outcome = '22023' AND key IS NOT NULL AND length(key) <= 100 AND position(key IN message) = 0
 ORDER BY id LIMIT 20;

SELECT ok(NOT EXISTS (SELECT FROM tap_hostile.report WHERE leaked),
          'no answer and no error message carries the engine''s key or secret');

-- (b)
SELECT is((SELECT snap FROM tap_hostile.after), (SELECT snap FROM tap_hostile.before),
          '(b) nothing changed: tenants, runs, run log, members and engines are as before the cases');

-- (d) a quote- and Unicode-laden company name, as an option and as the tenant's name
CREATE FUNCTION tap_hostile.queue_and_read(tenant uuid, options jsonb) RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    doc jsonb;
    got jsonb;
BEGIN
    BEGIN
        doc := provisioning.provision_start(tenant, options);
        SELECT jsonb_build_object('doc', doc, 'config', o.provisioning_config,
                                  'status', provisioning.provision_status(tenant))
          INTO got FROM provisioning.tenant_onboarding o WHERE o.id = (doc->>'run_id')::uuid;
        RAISE SQLSTATE 'TPOK0';
    EXCEPTION WHEN SQLSTATE 'TPOK0' THEN
        NULL;
    END;
    RETURN got;
END
$$;
SELECT tap_hostile.queue_and_read(:'T_PLAIN',
           jsonb_build_object('company_name', E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; -- Outlet')) AS opt,
       tap_hostile.queue_and_read(:'T_UNI', '{}') AS named \gset
SELECT is((:'opt'::jsonb)->'config'->>'company_name',
          E'O''Brien "Ünïcødé" 😀 \\ ; DROP TABLE provisioning.tenants; -- Outlet',
          '(d) a company name full of quotes and Unicode given as an option is kept intact in the run''s config');
SELECT is((:'opt'::jsonb)->'status', (:'opt'::jsonb)->'doc',
          '(d) ...and the queued run''s status document reads back as it was returned');
SELECT is((:'named'::jsonb)->'config'->>'company_name',
          (SELECT name FROM provisioning.tenants WHERE id = :'T_UNI'),
          '(d) a tenant named so gets that company name, intact');

----------------------------------------------------------------------------------------------------
-- Clean up, then the file's start again
----------------------------------------------------------------------------------------------------
DELETE FROM provisioning.tenants
 WHERE id IN (:'T_PLAIN', :'T_UNI', :'T_FAILED', :'T_NOENG', :'T_HENG', :'T_BADSET', :'T_UNKSET', :'T_ODOO')
    OR id::text LIKE '00000000-0000-4000-8000-0000000012__';
DELETE FROM provisioning.engines WHERE name IN ('tap_hostile', 'tap_hostile_names', 'tap_hostile_odoo', E'tap_hostile O''Brien "Ü" 😀 \\ ;');

SELECT is(tap_hostile.snapshot(), (SELECT snap FROM tap_hostile.at_start),
          '(b) with the fixtures gone, tenants, runs, run log, members and engines are as at the start');
SELECT diag(format('left out of the comparisons, still busy with runs of earlier files: %s', tenant_id))
  FROM tap_hostile.busy;
-- (c)
SELECT is(pg_postmaster_start_time(), (SELECT postmaster_started FROM tap_hostile.at_start),
          '(c) the server did not restart');

SELECT * FROM finish();
DROP SCHEMA tap_hostile CASCADE;
