-- PostgREST requests, replayed in plain SQL.
--
-- What it proves: called the way PostgREST calls it (reference/postgrest.md §2.5: one
-- transaction per request in which the authenticator sets search_path, role,
-- request.jwt.claims, request.method, request.path, request.headers and request.cookies
-- with set_config(..., true), then runs the main statement shaped as in §1.4), the API
-- answers the HTTP statuses of spec section 6 once the SQLSTATE goes through PostgREST's
-- mapping (reference §4.2):
--   anonymous 401; member 200; non-member 403; admin 200 on any tenant; unknown tenant 404;
--   a run already queued 409; bad argument 400; the empty claims a pooled connection keeps,
--   malformed claims and an expired exp are 401/403, never 500;
-- and that through the tables (row level security) a member of tenant A sees none of
-- tenant B's rows in tenants, tenant_members, tenant_onboarding and run_log.
--
-- How: tap_pgrst.request() runs one request inside a subtransaction. It switches the
-- session to the authenticator (SET LOCAL SESSION AUTHORIZATION, so session_user is the
-- LOGIN NOINHERIT authenticator as under PostgREST), sets the GUCs in PostgREST's order,
-- runs the statement, and always rolls the subtransaction back (a success is signalled
-- with a private SQLSTATE), so nothing a request queues survives and the GUCs go back to
-- what the session had. It returns {status, code, message, body}, status mapped from the
-- SQLSTATE with §4.2, and keeps every answer in tap_pgrst.responses for the checks at the
-- end (no 5xx, no engine secret in any answer).
-- Tenants are inserted with provisioning.auto_start off and their engine points at a closed
-- port, so no worker ever runs here; runs are queued only in transactions that roll back.
\set ON_ERROR_STOP 1
\set QUIET 1
SET provisioning.auto_start = off;
SET client_min_messages = warning;

\set A       '00000000-0000-4000-8000-0000000010a1'
\set B       '00000000-0000-4000-8000-0000000010b1'
\set C       '00000000-0000-4000-8000-0000000010c1'
\set UNKNOWN '00000000-0000-4000-8000-0000000010ff'
\set anon    '{"role": "tap_pgrst_web_anon"}'
\set alice   '{"role": "provisioning_user", "sub": "alice", "exp": 4102444800}'
\set bob     '{"role": "provisioning_user", "sub": "bob"}'
\set root    '{"role": "provisioning_admin", "sub": "root"}'

----------------------------------------------------------------------------------------------------
-- Roles, as a PostgREST deployment has them (README, "PostgREST")
----------------------------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tap_pgrst_authenticator') THEN
        CREATE ROLE tap_pgrst_authenticator LOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tap_pgrst_web_anon') THEN
        CREATE ROLE tap_pgrst_web_anon NOLOGIN;
    END IF;
END
$$;
-- claims are trusted only from a gateway: PostgREST's authenticator is one
GRANT tap_pgrst_web_anon, provisioning_user, provisioning_admin, provisioning_gateway TO tap_pgrst_authenticator;

----------------------------------------------------------------------------------------------------
-- The harness
----------------------------------------------------------------------------------------------------
DROP SCHEMA IF EXISTS tap_pgrst CASCADE;
CREATE SCHEMA tap_pgrst;

CREATE TABLE tap_pgrst.responses (
    n       serial PRIMARY KEY,
    role    text,
    method  text,
    path    text,
    status  integer,
    code    text,
    message text,
    body    jsonb
);

-- PostgREST's answer to a SQLSTATE (reference §4.2, v13; patterns in order, specific first).
CREATE FUNCTION tap_pgrst.http_status(sqlstate text, message text, role text) RETURNS integer
LANGUAGE sql IMMUTABLE AS
$$
    SELECT CASE
        WHEN sqlstate IS NULL THEN 200
        WHEN sqlstate = '42501' THEN CASE WHEN role = 'tap_pgrst_web_anon' THEN 401 ELSE 403 END
        WHEN sqlstate ~ '^PT[0-9]{3}$' THEN substr(sqlstate, 3)::integer
        WHEN sqlstate ~ '^PT' THEN 500
        WHEN sqlstate = '22023' AND message ~ '^role ".*" does not exist$' THEN 401
        WHEN sqlstate IN ('23503', '23505') THEN 409
        WHEN sqlstate = '25006' THEN 405
        WHEN sqlstate IN ('42883', '42P01') THEN 404
        WHEN sqlstate IN ('42P17', '21000', '53400') THEN 500
        WHEN sqlstate = '57P01' THEN 503
        WHEN sqlstate = 'P0001' THEN 400
        WHEN left(sqlstate, 2) IN ('08', '53') THEN 503
        WHEN left(sqlstate, 2) IN ('0L', '0P', '28') THEN 403
        WHEN left(sqlstate, 2) IN ('09', '25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58',
                                   'F0', 'HV', 'XX', 'P0') THEN 500
        ELSE 400
    END
$$;

-- One request. p_role is the role PostgREST resolved (the JWT's role claim, or the anon
-- role); p_claims what it puts in request.jwt.claims (NULL: not set, so the session's value
-- stays, as on a pooled connection); p_sql the main statement, returning one json column,
-- with the request body as $1.
CREATE FUNCTION tap_pgrst.request(p_role text, p_claims text, p_method text, p_path text,
                                  p_sql text, p_body json DEFAULT '{}', p_read_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    v_body    json;
    v_state   text;
    v_message text;
    v_headers jsonb := jsonb_build_object('accept', 'application/json',
                                          'content-type', 'application/json',
                                          'user-agent', 'tap_pgrst');
    v_status  integer;
BEGIN
    IF p_role <> 'tap_pgrst_web_anon' THEN
        v_headers := v_headers || jsonb_build_object('authorization',
                         'Bearer tap.' || encode(convert_to(coalesce(p_claims, ''), 'UTF8'), 'base64') || '.sig');
    END IF;
    BEGIN
        -- BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE|READ ONLY, as the authenticator
        PERFORM set_config('session_authorization', 'tap_pgrst_authenticator', true);
        IF p_read_only THEN
            PERFORM set_config('transaction_read_only', 'on', true);
        END IF;
        -- the one set_config statement (§2.1 step 2)
        PERFORM set_config('search_path', '"provisioning", "public"', true),
                set_config('role', p_role, true);
        IF p_claims IS NOT NULL THEN
            PERFORM set_config('request.jwt.claims', p_claims, true);
        END IF;
        PERFORM set_config('request.method', p_method, true),
                set_config('request.path', p_path, true),
                set_config('request.headers', v_headers::text, true),
                set_config('request.cookies', '{}', true);
        -- the main statement
        EXECUTE p_sql INTO v_body USING p_body;
        RAISE SQLSTATE 'TPOK0';    -- success: roll the request back all the same
    EXCEPTION
        WHEN SQLSTATE 'TPOK0' THEN
            v_state := NULL;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
            v_body := NULL;
    END;
    v_status := tap_pgrst.http_status(v_state, v_message, p_role);
    INSERT INTO tap_pgrst.responses (role, method, path, status, code, message, body)
    VALUES (p_role, p_method, p_path, v_status, v_state, v_message, v_body);
    RETURN jsonb_build_object('status', v_status, 'code', v_state, 'message', v_message, 'body', v_body);
END
$$;

-- POST|GET /rpc/<fn> with the arguments as a JSON object, called the way PostgREST calls it
-- (§1.4): typed arguments read from the body with json_to_record, passed by name, only
-- those sent. Readers (STABLE) and GET run READ ONLY (§1.7).
CREATE FUNCTION tap_pgrst.rpc(p_role text, p_claims text, p_fn text, p_args json,
                              p_method text DEFAULT 'POST')
RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    f        record;
    cols     text;
    coldefs  text;
    named    text;
    call     text;
    sql      text;
BEGIN
    SELECT p.oid, p.proretset, p.provolatile, p.proargnames, p.proargtypes::oid[] AS types,
           p.pronargs
      INTO STRICT f
      FROM pg_proc p WHERE p.pronamespace = 'provisioning'::regnamespace AND p.proname = p_fn;
    SELECT string_agg(format('%I', n), ', ' ORDER BY i),
           string_agg(format('%I %s', n, format_type(t, NULL)), ', ' ORDER BY i),
           string_agg(format('%1$I := pgrst_body.%1$I', n), ', ' ORDER BY i)
      INTO cols, coldefs, named
      FROM unnest(f.proargnames[1:f.pronargs], f.types) WITH ORDINALITY AS a(n, t, i)
     WHERE n IN (SELECT json_object_keys(p_args));
    call := format('"provisioning".%I(%s)', p_fn, coalesce(named, ''));
    sql := format('WITH pgrst_source AS (SELECT %s FROM (SELECT $1 AS json_data) pgrst_payload, '
                  'LATERAL (SELECT %s FROM json_to_record(pgrst_payload.json_data) AS _(%s) LIMIT 1) pgrst_body, '
                  'LATERAL %s) ',
                  CASE WHEN f.proretset THEN 'pgrst_call.*' ELSE 'pgrst_call.pgrst_scalar' END,
                  cols, coldefs,
                  CASE WHEN f.proretset THEN call || ' pgrst_call'
                       ELSE format('(SELECT %s pgrst_scalar) pgrst_call', call) END)
        || CASE WHEN f.proretset
                THEN 'SELECT coalesce(json_agg(_postgrest_t), ''[]'') FROM (SELECT "pgrst_source".* FROM "pgrst_source") _postgrest_t'
                ELSE 'SELECT coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, ''null'') FROM (SELECT "pgrst_source".* FROM "pgrst_source") _postgrest_t'
           END;
    RETURN tap_pgrst.request(p_role, p_claims, p_method, '/rpc/' || p_fn, sql, p_args,
                             p_method IN ('GET', 'HEAD') OR f.provolatile <> 'v');
END
$$;

-- GET /<table>?<filter>&select=<columns>: a read of an exposed table (RLS applies to the role).
CREATE FUNCTION tap_pgrst.get(p_role text, p_claims text, p_table text, p_where text DEFAULT 'true',
                              p_select text DEFAULT 't.*')
RETURNS jsonb LANGUAGE sql AS
$$
    SELECT tap_pgrst.request(p_role, p_claims, 'GET', '/' || p_table,
               format('SELECT coalesce(json_agg(_postgrest_t), ''[]'') FROM (SELECT %s FROM "provisioning".%I t WHERE %s) _postgrest_t',
                      p_select, p_table, p_where),
               '{}', true)
$$;

-- Asserts the HTTP status of a response, with the SQLSTATE and message when it differs.
CREATE FUNCTION tap_pgrst.answers(resp jsonb, expected integer, description text) RETURNS text
LANGUAGE sql AS
$$
    SELECT is((resp->>'status')::integer, expected, description)
           || CASE WHEN (resp->>'status')::integer IS DISTINCT FROM expected
                   THEN E'\n' || diag(format('got SQLSTATE %s: %s', coalesce(resp->>'code', '(none)'),
                                             coalesce(resp->>'message', left(resp->>'body', 300))))
                   ELSE '' END
$$;

----------------------------------------------------------------------------------------------------
-- Fixtures: three tenants on an engine nobody answers at; alice belongs to A, bob to B
----------------------------------------------------------------------------------------------------
DELETE FROM provisioning.tenants WHERE id IN (:'A', :'B', :'C');
DELETE FROM provisioning.engines WHERE name = 'tap_pgrst';
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('tap_pgrst', 'erpnext', 'http://127.0.0.1:9', 'tap-pgrst-key', 'tap-pgrst-engine-secret');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    (:'A', 'PostgREST Tenant A', 'tap_pgrst'),
    (:'B', 'PostgREST Tenant B', 'tap_pgrst'),
    (:'C', 'PostgREST Tenant C', 'tap_pgrst');
INSERT INTO provisioning.tenant_members (tenant_id, user_id, role) VALUES
    (:'A', 'alice', 'owner'),
    (:'B', 'bob', 'owner');

SELECT plan(67);

-- The harness itself: the request runs as PostgREST's would
SELECT is((tap_pgrst.request('provisioning_user', :'alice', 'GET', '/rpc/whoami',
               'SELECT json_build_object(''session_user'', session_user, ''current_user'', current_user,
                                         ''claims'', current_setting(''request.jwt.claims'')::json->>''sub'',
                                         ''path'', current_setting(''request.path''),
                                         ''read_only'', current_setting(''transaction_read_only''))',
               '{}', true))->'body',
          '{"session_user": "tap_pgrst_authenticator", "current_user": "provisioning_user",
            "claims": "alice", "path": "/rpc/whoami", "read_only": "on"}'::jsonb,
          'harness: the request runs as the authenticator switched to the JWT role, with the request GUCs');
SELECT is(current_user::text, 'postgres', 'harness: the role switch ends with the request');

----------------------------------------------------------------------------------------------------
-- Anonymous: 401
----------------------------------------------------------------------------------------------------
SELECT tap_pgrst.answers(tap_pgrst.rpc('tap_pgrst_web_anon', :'anon', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         401, 'anonymous GET /rpc/provision_status → 401');
SELECT tap_pgrst.answers(tap_pgrst.rpc('tap_pgrst_web_anon', :'anon', 'provision_start',
                                       json_build_object('tenant_id', :'A')),
                         401, 'anonymous POST /rpc/provision_start → 401');
SELECT tap_pgrst.answers(tap_pgrst.rpc('tap_pgrst_web_anon', :'anon', 'engine_health',
                                       json_build_object('tenant_ids', json_build_array(:'A'))),
                         401, 'anonymous POST /rpc/engine_health → 401');
SELECT tap_pgrst.answers(tap_pgrst.get('tap_pgrst_web_anon', :'anon', 'tenants'),
                         401, 'anonymous GET /tenants → 401');

----------------------------------------------------------------------------------------------------
-- A member: 200 on its tenant
----------------------------------------------------------------------------------------------------
CREATE TEMP TABLE r AS
SELECT tap_pgrst.rpc('provisioning_user', :'alice', 'provision_status',
                     json_build_object('tenant_id', :'A'), 'GET') AS status,
       tap_pgrst.rpc('provisioning_user', :'alice', 'provision_logs',
                     json_build_object('tenant_id', :'A'), 'GET') AS logs,
       tap_pgrst.rpc('provisioning_user', :'alice', 'provision_start',
                     json_build_object('tenant_id', :'A', 'options', json_build_object('include_demo_data', true))) AS start,
       tap_pgrst.rpc('provisioning_user', :'alice', 'engine_health',
                     json_build_object('tenant_ids', json_build_array(:'A'))) AS health;
SELECT tap_pgrst.answers(status, 200, 'member GET /rpc/provision_status on its tenant → 200') FROM r;
SELECT is(status->'body'->>'status', 'NOT_PROVISIONED', '...with the status document') FROM r;
SELECT tap_pgrst.answers(logs, 200, 'member GET /rpc/provision_logs on its tenant → 200') FROM r;
SELECT tap_pgrst.answers(start, 200, 'member POST /rpc/provision_start on its tenant → 200') FROM r;
SELECT is(start->'body'->>'status', 'PENDING', '...and the run is queued') FROM r;
SELECT tap_pgrst.answers(health, 200, 'member POST /rpc/engine_health on its tenant → 200') FROM r;
SELECT is(health->'body'->0->>'status', 'offline', '...answering offline for an engine that is down') FROM r;
DROP TABLE r;
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = :'A'), 0::bigint,
          'a request''s run went with its rolled-back transaction');

----------------------------------------------------------------------------------------------------
-- A member of another tenant: 403
----------------------------------------------------------------------------------------------------
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'bob', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'non-member GET /rpc/provision_status → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'bob', 'provision_logs',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'non-member GET /rpc/provision_logs → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'bob', 'provision_start',
                                       json_build_object('tenant_id', :'A')),
                         403, 'non-member POST /rpc/provision_start → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'bob', 'provision_retry',
                                       json_build_object('tenant_id', :'A')),
                         403, 'non-member POST /rpc/provision_retry → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'bob', 'engine_health',
                                       json_build_object('tenant_ids', json_build_array(:'B', :'A'))),
                         403, 'engine_health with one tenant not the caller''s → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', '{"role": "provisioning_user"}', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'a JWT without sub → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('postgres', '{"role": "postgres", "sub": "alice"}', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'a JWT naming a role the authenticator may not switch to → 403');

----------------------------------------------------------------------------------------------------
-- An admin: 200 on any tenant
----------------------------------------------------------------------------------------------------
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'provision_status',
                                       json_build_object('tenant_id', t), 'GET'),
                         200, format('admin GET /rpc/provision_status on tenant %s → 200', t))
  FROM unnest(ARRAY[:'A', :'B', :'C']) t;
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'provision_start',
                                       json_build_object('tenant_id', :'C', 'options', json_build_object('provisioning_type', 'BASIC'))),
                         200, 'admin POST /rpc/provision_start on a tenant without members → 200');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'engine_health',
                                       json_build_object('tenant_ids', json_build_array(:'A', :'B', :'C'))),
                         200, 'admin POST /rpc/engine_health on every tenant → 200');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'engine_health',
                                       json_build_object('tenant_ids', json_build_array(:'A')), 'GET'),
                         200, 'GET /rpc/engine_health (a READ ONLY transaction) → 200');
SELECT tap_pgrst.answers(tap_pgrst.get('provisioning_admin', :'root', 'engines', 'true', 't.name, t.kind, t.base_url'),
                         200, 'admin GET /engines?select=name,kind,base_url → 200');
SELECT tap_pgrst.answers(tap_pgrst.get('provisioning_admin', :'root', 'engines'),
                         403, 'admin GET /engines with the secret columns → 403');

----------------------------------------------------------------------------------------------------
-- Unknown tenant: 404
----------------------------------------------------------------------------------------------------
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'provision_status',
                                       json_build_object('tenant_id', :'UNKNOWN'), 'GET'),
                         404, 'admin GET /rpc/provision_status on an unknown tenant → 404');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'provision_start',
                                       json_build_object('tenant_id', :'UNKNOWN')),
                         404, 'admin POST /rpc/provision_start on an unknown tenant → 404');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'provision_logs',
                                       json_build_object('tenant_id', :'UNKNOWN'), 'GET'),
                         404, 'member GET /rpc/provision_logs on an unknown tenant → 404');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'engine_health',
                                       json_build_object('tenant_ids', json_build_array(:'A', :'UNKNOWN'))),
                         404, 'engine_health naming an unknown tenant → 404');

----------------------------------------------------------------------------------------------------
-- A run already queued: 409. Runs for A and B are queued in this transaction, which rolls
-- back; the answers are kept in psql variables and checked after it.
----------------------------------------------------------------------------------------------------
BEGIN;
SET LOCAL provisioning.auto_start = off;
SELECT provisioning.provision_start(:'A') IS NOT NULL AS queued_a,
       provisioning.provision_start(:'B') IS NOT NULL AS queued_b \gset
SELECT tap_pgrst.rpc('provisioning_user', :'alice', 'provision_start',
                     json_build_object('tenant_id', :'A')) AS start_queued,
       tap_pgrst.rpc('provisioning_admin', :'root', 'provision_retry',
                     json_build_object('tenant_id', :'A', 'step', 'step_0_engine_check')) AS retry_queued,
       tap_pgrst.rpc('provisioning_user', :'alice', 'provision_status',
                     json_build_object('tenant_id', :'A'), 'GET') AS status_queued,
       tap_pgrst.get('provisioning_user', :'alice', 'tenants', format('id = %L', :'B')) AS b_tenant,
       tap_pgrst.get('provisioning_user', :'alice', 'tenant_members', format('tenant_id = %L', :'B')) AS b_members,
       tap_pgrst.get('provisioning_user', :'alice', 'tenant_onboarding', format('tenant_id = %L', :'B')) AS b_runs,
       tap_pgrst.get('provisioning_user', :'alice', 'run_log', format('tenant_id = %L', :'B')) AS b_log,
       tap_pgrst.get('provisioning_user', :'alice', 'tenants') AS all_tenants,
       tap_pgrst.get('provisioning_user', :'alice', 'tenant_members') AS all_members,
       tap_pgrst.get('provisioning_user', :'alice', 'tenant_onboarding') AS all_runs,
       tap_pgrst.get('provisioning_user', :'alice', 'run_log') AS all_log,
       tap_pgrst.get('provisioning_user', :'alice', 'engines') AS engines \gset
ROLLBACK;

SELECT tap_pgrst.answers(:'start_queued', 409, 'POST /rpc/provision_start while a run is queued → 409');
SELECT tap_pgrst.answers(:'retry_queued', 409, 'POST /rpc/provision_retry while a run is queued → 409');
SELECT tap_pgrst.answers(:'status_queued', 200, 'GET /rpc/provision_status while a run is queued → 200');
SELECT is((:'status_queued'::jsonb)->'body'->>'status', 'PENDING', '...showing the queued run');

----------------------------------------------------------------------------------------------------
-- Through the tables, tenant A's member sees nothing of tenant B (runs of both queued above)
----------------------------------------------------------------------------------------------------
SELECT is((:'b_tenant'::jsonb)->'body', '[]'::jsonb, 'GET /tenants?id=eq.B as A''s member → no rows');
SELECT is((:'b_members'::jsonb)->'body', '[]'::jsonb, 'GET /tenant_members?tenant_id=eq.B → no rows');
SELECT is((:'b_runs'::jsonb)->'body', '[]'::jsonb, 'GET /tenant_onboarding?tenant_id=eq.B → no rows');
SELECT is((:'b_log'::jsonb)->'body', '[]'::jsonb, 'GET /run_log?tenant_id=eq.B → no rows');
SELECT is(ARRAY(SELECT DISTINCT e->>'id' FROM jsonb_array_elements((:'all_tenants'::jsonb)->'body') e),
          ARRAY[:'A'], 'GET /tenants → only tenant A');
SELECT is(ARRAY(SELECT DISTINCT e->>'tenant_id' FROM jsonb_array_elements((:'all_members'::jsonb)->'body') e),
          ARRAY[:'A'], 'GET /tenant_members → only tenant A''s');
SELECT is(ARRAY(SELECT DISTINCT e->>'tenant_id' FROM jsonb_array_elements((:'all_runs'::jsonb)->'body') e),
          ARRAY[:'A'], 'GET /tenant_onboarding → only tenant A''s run (it exists: RLS lets the own rows in)');
SELECT is(ARRAY(SELECT DISTINCT e->>'tenant_id' FROM jsonb_array_elements((:'all_log'::jsonb)->'body') e),
          ARRAY[:'A'], 'GET /run_log → only tenant A''s');
SELECT tap_pgrst.answers(:'engines', 403, 'GET /engines as a member → 403');

----------------------------------------------------------------------------------------------------
-- Bad arguments: 400
----------------------------------------------------------------------------------------------------
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'provision_start',
                                       json_build_object('tenant_id', :'A', 'options', json_build_object('colour', 'red'))),
                         400, 'an unknown option → 400');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'provision_start',
                                       json_build_object('tenant_id', :'A', 'options', json_build_object('include_demo_data', 'yes'))),
                         400, 'an option of the wrong type → 400');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'provision_status',
                                       json_build_object('tenant_id', 'not-a-uuid'), 'GET'),
                         400, 'a malformed tenant id → 400');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin', :'root', 'provision_status',
                                       json_build_object('tenant_id', NULL), 'GET'),
                         400, 'a null tenant id → 400');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'engine_health',
                                       json_build_object('tenant_ids', 'not-an-array')),
                         400, 'tenant_ids that is not an array → 400');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', :'alice', 'provision_retry',
                                       json_build_object('tenant_id', :'A')),
                         400, 'provision_retry of a tenant never provisioned → 400');
-- a run of A that failed, in a transaction that rolls back
BEGIN;
SET LOCAL provisioning.auto_start = off;
SELECT provisioning.provision_start(:'A')->>'run_id' AS failed_run \gset
UPDATE provisioning.tenant_onboarding SET status = 'FAILED', finished_at = clock_timestamp()
 WHERE id = :'failed_run';
SELECT tap_pgrst.rpc('provisioning_user', :'alice', 'provision_retry',
                     json_build_object('tenant_id', :'A', 'step', 'step_42_nothing')) AS retry_unknown_step,
       tap_pgrst.rpc('provisioning_user', :'alice', 'provision_retry',
                     json_build_object('tenant_id', :'A', 'step', 'step_0_engine_check')) AS retry_known_step \gset
ROLLBACK;
SELECT tap_pgrst.answers(:'retry_unknown_step', 400, 'provision_retry from an unknown step → 400');
SELECT tap_pgrst.answers(:'retry_known_step', 200, '...while a known step → 200');

----------------------------------------------------------------------------------------------------
-- The claims a pooled connection keeps after a request (''), malformed and expired claims:
-- 401 anonymous, 403 otherwise, never 500
----------------------------------------------------------------------------------------------------
SELECT is(current_setting('request.jwt.claims', true), '', 'this connection now holds the empty claims of past requests');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', NULL, 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'a member role with the pooled connection''s empty claims → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', '', 'provision_start',
                                       json_build_object('tenant_id', :'A')),
                         403, 'a member role with claims set to '''' → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('tap_pgrst_web_anon', '', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         401, 'the anonymous role with empty claims → 401');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user', '{"sub": ', 'provision_status',
                                       json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'malformed claims → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user',
                                       '{"role": "provisioning_user", "sub": "alice", "exp": 1000000000}',
                                       'provision_status', json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'a member whose exp has passed → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_user',
                                       '{"role": "provisioning_user", "sub": "alice", "exp": "2100-01-01"}',
                                       'provision_status', json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'an exp that is not a number → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('provisioning_admin',
                                       '{"role": "provisioning_admin", "sub": "root", "exp": 1000000000}',
                                       'provision_status', json_build_object('tenant_id', :'A'), 'GET'),
                         403, 'an admin whose exp has passed → 403');
SELECT tap_pgrst.answers(tap_pgrst.rpc('tap_pgrst_web_anon', '{"role": "tap_pgrst_web_anon", "exp": 1000000000}',
                                       'provision_status', json_build_object('tenant_id', :'A'), 'GET'),
                         401, 'anonymous with an expired exp → 401');
SELECT tap_pgrst.answers(tap_pgrst.get('provisioning_user',
                                       '{"role": "provisioning_user", "sub": "alice", "exp": 1000000000}', 'tenants'),
                         403, 'GET /tenants with an expired exp → 403');
SELECT is(tap_pgrst.get('provisioning_user', '', 'tenants') - 'message' - 'code',
          '{"status": 200, "body": []}'::jsonb, 'GET /tenants with the pooled connection''s empty claims → 200, no rows');

----------------------------------------------------------------------------------------------------
-- Over every request above
----------------------------------------------------------------------------------------------------
SELECT is(ARRAY(SELECT format('%s %s as %s: %s %s', method, path, role, code, message)
                  FROM tap_pgrst.responses WHERE status >= 500 ORDER BY n),
          '{}'::text[], 'no request was answered 5xx');
SELECT is(ARRAY(SELECT format('%s %s as %s', method, path, role)
                  FROM tap_pgrst.responses
                 WHERE concat(message, body::text) ~ 'tap-pgrst-engine-secret|tap-pgrst-key' ORDER BY n),
          '{}'::text[], 'no answer carries the engine''s key or secret');

SELECT * FROM finish();

----------------------------------------------------------------------------------------------------
-- Clean up
----------------------------------------------------------------------------------------------------
DELETE FROM provisioning.tenants WHERE id IN (:'A', :'B', :'C');
DELETE FROM provisioning.engines WHERE name = 'tap_pgrst';
DROP SCHEMA tap_pgrst CASCADE;
DROP ROLE tap_pgrst_authenticator, tap_pgrst_web_anon;
