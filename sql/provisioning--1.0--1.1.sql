-- provisioning 1.0 -> 1.1: add_provisioning_fields.
-- Provisioning state on runs and tenants, the step catalog, the run log, the SQL API,
-- the insert trigger, roles and row level security.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.1'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Columns and indexes (the add_provisioning_fields migration proper)
----------------------------------------------------------------------------------------------------

ALTER TABLE provisioning.tenant_onboarding
    ADD COLUMN provisioning_type text NOT NULL DEFAULT 'FULL_POS'
        CHECK (provisioning_type IN ('FULL_POS', 'BASIC')),
    ADD COLUMN provisioning_config jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN provisioning_steps jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN provisioning_metadata jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN options jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN error_step text,
    ADD COLUMN error_kind text CHECK (error_kind IN ('transient', 'permanent', 'offline')),
    ADD COLUMN retry_of uuid,
    ADD COLUMN retry_attempt integer NOT NULL DEFAULT 0;

ALTER TABLE provisioning.tenants
    ADD COLUMN provisioning_status text NOT NULL DEFAULT 'NOT_PROVISIONED'
        CHECK (provisioning_status IN ('NOT_PROVISIONED', 'PROVISIONING', 'PROVISIONED', 'PARTIAL', 'FAILED')),
    ADD COLUMN provisioned_at timestamptz,
    ADD COLUMN provisioning_error text;

-- The launcher's queue: runs still to be executed, oldest first.
CREATE INDEX idx_tenant_onboarding_provisioning_status
    ON provisioning.tenant_onboarding (status, created_at)
    WHERE status IN ('PENDING', 'IN_PROGRESS');
-- At most one queued or running run per tenant: concurrent starts yield exactly one run.
CREATE UNIQUE INDEX tenant_onboarding_one_active_run
    ON provisioning.tenant_onboarding (tenant_id)
    WHERE status IN ('PENDING', 'IN_PROGRESS');
CREATE INDEX idx_tenants_provisioning_status ON provisioning.tenants (provisioning_status);

----------------------------------------------------------------------------------------------------
-- Step catalog and run log
----------------------------------------------------------------------------------------------------

-- The steps as data: the worker walks a run's step list in this order and asks the
-- engine's driver for each step's implementation.
CREATE TABLE provisioning.step_catalog (
    step        text PRIMARY KEY,
    position    integer NOT NULL UNIQUE,
    critical    boolean NOT NULL,
    condition   text NOT NULL CHECK (condition IN ('always', 'demo_data', 'pos')),
    description text NOT NULL
);
INSERT INTO provisioning.step_catalog VALUES
    ('step_0_engine_check',        0, true,  'always',    'engine reachable and the API key accepted'),
    ('step_1_fiscal_year',         1, true,  'always',    'a fiscal year covering today'),
    ('step_2_company',             2, true,  'always',    'the company'),
    ('step_3_chart_of_accounts',   3, true,  'always',    'the company''s chart of accounts is imported'),
    ('step_4_warehouses',          4, true,  'always',    'Main Store, and POS Store when pos_store_enabled'),
    ('step_5_settings',            5, true,  'always',    'stock and selling settings'),
    ('step_6_items',               6, false, 'demo_data', 'demo items when include_demo_data'),
    ('step_7_customer',            7, true,  'always',    'customer Walk-In Customer'),
    ('step_8_pos_profile',         8, true,  'pos',       'POS profile'),
    ('step_9_pos_session',         9, true,  'pos',       'an open, submitted POS opening entry');

CREATE TABLE provisioning.run_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    tenant_id      uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    run_id         uuid NOT NULL REFERENCES provisioning.tenant_onboarding (id) ON DELETE CASCADE,
    correlation_id uuid NOT NULL,
    step           text,
    status         text NOT NULL,
    message        text,
    duration_ms    double precision
);
CREATE INDEX run_log_tenant_at_idx ON provisioning.run_log (tenant_id, at);
CREATE INDEX run_log_run_idx ON provisioning.run_log (run_id);
CREATE INDEX tenant_onboarding_finished_idx ON provisioning.tenant_onboarding (finished_at)
    WHERE status NOT IN ('PENDING', 'IN_PROGRESS');
SELECT pg_catalog.pg_extension_config_dump('provisioning.run_log', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.run_log_id_seq', '');

----------------------------------------------------------------------------------------------------
-- Roles
----------------------------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_admin') THEN
        CREATE ROLE provisioning_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_user') THEN
        CREATE ROLE provisioning_user NOLOGIN;
    END IF;
END
$$;

----------------------------------------------------------------------------------------------------
-- C entry points
----------------------------------------------------------------------------------------------------

-- Wakes the launcher when the calling transaction commits; fails without the preload.
CREATE FUNCTION provisioning._wake() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_wake';

-- Whether the workers run for this database (the library is preloaded and this is
-- provisioning.database_name).
CREATE FUNCTION provisioning._workers_serve_here() RETURNS boolean
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'provisioning_workers_serve_here';

-- Probes engines (cached per engine for provisioning.health_cache_ttl).
CREATE FUNCTION provisioning._engine_health(engine_names text[]) RETURNS jsonb
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_engine_health';

----------------------------------------------------------------------------------------------------
-- Identity and access
--
-- The helpers below run inside the SECURITY DEFINER API functions and take their fixed
-- search_path; they carry no SET clause of their own because provision_status() calls
-- them on every request and each SET costs a GUC save and restore. Nobody else may
-- execute them.
----------------------------------------------------------------------------------------------------

-- The role the request runs as: SET ROLE (PostgREST's role switch) or the login role.
-- current_user would name the owner inside the SECURITY DEFINER API functions.
CREATE FUNCTION provisioning._caller() RETURNS name
    LANGUAGE sql STABLE AS
$$
    SELECT CASE WHEN current_setting('role') = 'none' THEN session_user
                ELSE current_setting('role')::name END
$$;

-- The verified request claims as PostgREST sets them, or NULL when there are none.
-- A pooled connection keeps '' after a request; malformed or expired claims are refused.
CREATE FUNCTION provisioning._claims() RETURNS jsonb
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    raw    text := nullif(current_setting('request.jwt.claims', true), '');
    claims jsonb;
BEGIN
    IF raw IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        claims := raw::jsonb;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'request.jwt.claims is not valid JSON'
            USING ERRCODE = '42501', DETAIL = 'The request carries no usable identity.';
    END;
    IF jsonb_typeof(claims) <> 'object' THEN
        RAISE EXCEPTION 'request.jwt.claims is not a JSON object'
            USING ERRCODE = '42501', DETAIL = 'The request carries no usable identity.';
    END IF;
    IF claims ? 'exp' THEN
        IF jsonb_typeof(claims->'exp') <> 'number' THEN
            RAISE EXCEPTION 'the JWT exp claim must be a number' USING ERRCODE = '42501';
        END IF;
        IF (claims->>'exp')::numeric < extract(epoch FROM clock_timestamp()) THEN
            RAISE EXCEPTION 'the JWT has expired' USING ERRCODE = '42501',
                HINT = 'Sign in again to get a fresh token.';
        END IF;
    END IF;
    RETURN claims;
END
$$;

-- The caller's user id: the sub claim.
CREATE FUNCTION provisioning._sub() RETURNS text
    LANGUAGE sql STABLE AS
$$
    SELECT nullif(provisioning._claims()->>'sub', '')
$$;

-- Tenants the caller may see through the tables (used by the row level security policies).
CREATE FUNCTION provisioning._my_tenant_ids() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT coalesce(array_agg(m.tenant_id), '{}')
      FROM provisioning.tenant_members m
     WHERE m.user_id = provisioning._sub()
$$;

-- Checks the caller against a tenant and returns the tenant.
-- Order: identity (42501), tenant exists (PT404), membership (42501).
CREATE FUNCTION provisioning._authorize(p_tenant_id uuid) RETURNS provisioning.tenants
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    caller   name := provisioning._caller();
    is_admin boolean := pg_has_role(caller, 'provisioning_admin', 'MEMBER');
    sub      text := provisioning._sub();
    t        provisioning.tenants;
BEGIN
    IF NOT is_admin THEN
        IF NOT pg_has_role(caller, 'provisioning_user', 'MEMBER') THEN
            RAISE EXCEPTION 'permission denied for provisioning'
                USING ERRCODE = '42501',
                      DETAIL = format('Role %s is neither provisioning_admin nor provisioning_user.', caller);
        END IF;
        IF sub IS NULL THEN
            RAISE EXCEPTION 'no user identity in the request'
                USING ERRCODE = '42501',
                      DETAIL = 'request.jwt.claims has no sub claim.',
                      HINT = 'Send a JWT with a sub claim, or set request.jwt.claims with set_config.';
        END IF;
    END IF;
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'tenant_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO t FROM provisioning.tenants WHERE id = p_tenant_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant_id USING ERRCODE = 'PT404';
    END IF;
    IF NOT is_admin AND NOT EXISTS (SELECT FROM provisioning.tenant_members m
                                     WHERE m.tenant_id = p_tenant_id AND m.user_id = sub) THEN
        RAISE EXCEPTION 'user % is not a member of tenant %', sub, p_tenant_id
            USING ERRCODE = '42501';
    END IF;
    RETURN t;
END
$$;

-- Only provisioning_admin (or a superuser) may call the cluster-wide operations.
CREATE FUNCTION provisioning._require_admin() RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._claims();
    IF NOT pg_has_role(provisioning._caller(), 'provisioning_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for provisioning administration'
            USING ERRCODE = '42501', DETAIL = 'Only members of provisioning_admin may do this.';
    END IF;
END
$$;

----------------------------------------------------------------------------------------------------
-- Run configuration and queueing
----------------------------------------------------------------------------------------------------

-- Checks a settings or options object: known keys, right JSON types. what = 'setting' | 'option'.
CREATE FUNCTION provisioning._check_settings(p_settings jsonb, what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    known constant jsonb := '{"company_name": "string", "abbr": "string", "currency": "string",
                              "country": "string", "chart_of_accounts": "string",
                              "include_demo_data": "boolean", "pos_store_enabled": "boolean",
                              "pos_user": "string", "provisioning_type": "string"}';
    kv record;
BEGIN
    IF p_settings IS NULL OR jsonb_typeof(p_settings) <> 'object' THEN
        RAISE EXCEPTION '% must be a JSON object', what || 's' USING ERRCODE = '22023';
    END IF;
    FOR kv IN SELECT key, value FROM jsonb_each(p_settings) LOOP
        IF NOT known ? kv.key THEN
            RAISE EXCEPTION 'unknown % "%"', what, kv.key
                USING ERRCODE = '22023',
                      HINT = 'Known keys: ' || (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(known) k) || '.';
        END IF;
        IF jsonb_typeof(kv.value) <> known->>kv.key THEN
            RAISE EXCEPTION '% "%" must be a %', what, kv.key, known->>kv.key
                USING ERRCODE = '22023',
                      DETAIL = format('The value given is a %s.', jsonb_typeof(kv.value));
        END IF;
        IF jsonb_typeof(kv.value) = 'string'
           AND (length(kv.value->>0) NOT BETWEEN 1 AND 140 OR kv.value->>0 ~ '[[:cntrl:]]') THEN
            RAISE EXCEPTION '% "%" must be 1 to 140 characters without control characters', what, kv.key
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF p_settings ? 'provisioning_type' AND p_settings->>'provisioning_type' NOT IN ('FULL_POS', 'BASIC') THEN
        RAISE EXCEPTION '% "provisioning_type" must be FULL_POS or BASIC', what USING ERRCODE = '22023';
    END IF;
END
$$;

-- The settings a run uses: defaults, then the tenant's settings, then this run's options.
CREATE FUNCTION provisioning._run_config(t provisioning.tenants, options jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    config jsonb;
BEGIN
    PERFORM provisioning._check_settings(t.settings, 'setting');
    PERFORM provisioning._check_settings(options, 'option');
    config := jsonb_build_object('company_name', t.name, 'currency', 'USD', 'country', 'United States',
                                 'chart_of_accounts', 'Standard', 'include_demo_data', false,
                                 'pos_store_enabled', true, 'provisioning_type', 'FULL_POS')
              || t.settings || options;
    IF length(config->>'company_name') NOT BETWEEN 1 AND 140 OR config->>'company_name' ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'company name must be 1 to 140 characters without control characters'
            USING ERRCODE = '22023',
                  HINT = 'Set settings.company_name, or pass company_name in options.';
    END IF;
    RETURN config;
END
$$;

-- A fresh step list for a run: every catalog step of the run's type, skipped where its
-- condition does not hold.
CREATE FUNCTION provisioning._initial_steps(config jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
    SELECT jsonb_agg(jsonb_build_object(
               'step', c.step,
               'status', CASE WHEN skip THEN 'skipped' ELSE 'pending' END,
               'critical', c.critical, 'attempts', 0,
               'started_at', NULL, 'finished_at', NULL, 'duration_ms', NULL,
               'message', CASE WHEN skip THEN 'include_demo_data is off' END)
             ORDER BY c.position)
      FROM provisioning.step_catalog c,
           LATERAL (SELECT c.condition = 'demo_data' AND NOT (config->>'include_demo_data')::boolean AS skip) s
     WHERE NOT (c.condition = 'pos' AND config->>'provisioning_type' = 'BASIC')
$$;

-- Inserts a queued run, logs it, marks the tenant and wakes the launcher at commit.
CREATE FUNCTION provisioning._queue_run(t provisioning.tenants, options jsonb, steps jsonb,
                                        metadata jsonb, prior provisioning.tenant_onboarding,
                                        attempt integer)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    config jsonb := provisioning._run_config(t, options);
    r      provisioning.tenant_onboarding;
BEGIN
    IF steps IS NULL THEN
        steps := provisioning._initial_steps(config);
    END IF;
    IF t.engine IS NULL THEN
        RAISE EXCEPTION 'tenant % has no engine', t.id
            USING ERRCODE = '22023', HINT = 'Set provisioning.tenants.engine to one of provisioning.engines.';
    END IF;
    PERFORM provisioning._wake();
    BEGIN
        INSERT INTO provisioning.tenant_onboarding
               (tenant_id, provisioning_type, provisioning_config, provisioning_steps,
                provisioning_metadata, options, retry_of, retry_attempt)
        VALUES (t.id, config->>'provisioning_type', config, steps, metadata, options, prior.id, attempt)
        RETURNING * INTO r;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a provisioning run is already queued or in progress for tenant %', t.id
            USING ERRCODE = 'PT409',
                  HINT = 'Wait for it to finish; provision_status() shows its progress.';
    END;
    UPDATE provisioning.tenants SET provisioning_status = 'PROVISIONING', provisioning_error = NULL
     WHERE id = t.id;
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message)
    VALUES (t.id, r.id, r.correlation_id, 'PENDING',
            CASE WHEN prior.id IS NULL THEN 'run queued'
                 ELSE format('retry of run %s queued (attempt %s)', prior.id, attempt) END);
    RETURN r;
END
$$;

-- The tenant's latest run (NULL fields when it has none).
CREATE FUNCTION provisioning._latest_run(p_tenant_id uuid) RETURNS provisioning.tenant_onboarding
    LANGUAGE sql STABLE AS
$$
    SELECT * FROM provisioning.tenant_onboarding o
     WHERE o.tenant_id = p_tenant_id ORDER BY o.created_at DESC LIMIT 1
$$;

-- The status document of a run (spec section 4).
CREATE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text)
    RETURNS jsonb
    LANGUAGE sql STABLE AS
$$
    SELECT jsonb_build_object(
               'tenant_id', r.tenant_id, 'run_id', r.id, 'correlation_id', r.correlation_id,
               'provisioning_type', r.provisioning_type, 'status', r.status,
               'tenant_status', tenant_status,
               'progress', CASE WHEN r.status = 'COMPLETED' THEN 100
                                ELSE least(99, (100 * s.done) / greatest(s.total, 1)) END,
               'steps_completed', s.done, 'steps_total', s.total,
               'current_step', s.current, 'error_step', r.error_step, 'errors', s.errors,
               'steps', r.provisioning_steps,
               'started_at', r.started_at, 'finished_at', r.finished_at)
      FROM (SELECT count(*) FILTER (WHERE e->>'status' IN ('completed', 'exists', 'skipped')) AS done,
                   count(*) AS total,
                   min(e->>'step') FILTER (WHERE e->>'status' = 'running') AS current,
                   coalesce(jsonb_agg(jsonb_build_object('step', e->'step', 'message', e->'message',
                                                         'at', e->'finished_at'))
                              FILTER (WHERE e->>'status' = 'failed'), '[]') AS errors
              FROM jsonb_array_elements(r.provisioning_steps) e) s
$$;

----------------------------------------------------------------------------------------------------
-- SQL API (spec section 3)
----------------------------------------------------------------------------------------------------

CREATE FUNCTION provisioning.provision_start(tenant_id uuid, options jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t provisioning.tenants := provisioning._authorize(tenant_id);
    r provisioning.tenant_onboarding;
BEGIN
    -- references to what the engine already holds carry over; every step re-checks them
    r := provisioning._queue_run(t, coalesce(options, '{}'), NULL,
                                 coalesce((provisioning._latest_run(t.id)).provisioning_metadata, '{}'),
                                 NULL, 0);
    RETURN provisioning._status_doc(r, 'PROVISIONING');
END
$$;

CREATE FUNCTION provisioning.provision_status(tenant_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t provisioning.tenants := provisioning._authorize(tenant_id);
    r provisioning.tenant_onboarding := provisioning._latest_run(t.id);
BEGIN
    IF r.id IS NULL THEN
        RETURN jsonb_build_object('tenant_id', t.id, 'run_id', NULL, 'correlation_id', NULL,
                                  'provisioning_type', NULL, 'status', 'NOT_PROVISIONED',
                                  'tenant_status', t.provisioning_status, 'progress', 0,
                                  'steps_completed', 0, 'steps_total', 0, 'current_step', NULL,
                                  'error_step', NULL, 'errors', '[]'::jsonb, 'steps', '[]'::jsonb,
                                  'started_at', NULL, 'finished_at', NULL);
    END IF;
    RETURN provisioning._status_doc(r, t.provisioning_status);
END
$$;

CREATE FUNCTION provisioning.provision_logs(tenant_id uuid)
    RETURNS TABLE (at timestamptz, run_id uuid, correlation_id uuid, step text, status text,
                   message text, duration_ms double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t provisioning.tenants := provisioning._authorize(tenant_id);
BEGIN
    RETURN QUERY
        SELECT l.at, l.run_id, l.correlation_id, l.step, l.status, l.message, l.duration_ms
          FROM provisioning.run_log l
         WHERE l.tenant_id = t.id
         ORDER BY l.at, l.id;
END
$$;

-- A new run of the tenant's latest run, starting at p_step; the steps before it are carried
-- over, not re-run. The settings are resolved again (the tenant's settings may have been
-- fixed since) with the options and type of the earlier run.
CREATE FUNCTION provisioning._retry_run(t provisioning.tenants, prior provisioning.tenant_onboarding,
                                        p_step text, attempt integer)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    options   jsonb := prior.options || jsonb_build_object('provisioning_type', prior.provisioning_type);
    start_pos integer;
    blocker   text;
    steps     jsonb;
BEGIN
    IF p_step IS NULL THEN
        SELECT e->>'step' INTO p_step
          FROM jsonb_array_elements(prior.provisioning_steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'status' = 'failed' ORDER BY n LIMIT 1;
        IF p_step IS NULL THEN
            RAISE EXCEPTION 'run % of tenant % has no failed step', prior.id, t.id
                USING ERRCODE = '22023',
                      HINT = 'Pass the step to start from, or call provision_start for a new full run.';
        END IF;
    END IF;
    SELECT c.position INTO start_pos FROM provisioning.step_catalog c WHERE c.step = p_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown step "%"', p_step
            USING ERRCODE = '22023',
                  HINT = 'Steps: ' || (SELECT string_agg(step, ', ' ORDER BY position) FROM provisioning.step_catalog) || '.';
    END IF;
    IF NOT EXISTS (SELECT FROM jsonb_array_elements(prior.provisioning_steps) e WHERE e->>'step' = p_step) THEN
        RAISE EXCEPTION 'step "%" is not part of a % run', p_step, prior.provisioning_type
            USING ERRCODE = '22023';
    END IF;
    SELECT e->>'step' INTO blocker
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.step = e->>'step'
     WHERE c.position < start_pos AND c.critical
       AND e->>'status' NOT IN ('completed', 'exists', 'skipped')
     ORDER BY c.position LIMIT 1;
    IF blocker IS NOT NULL THEN
        RAISE EXCEPTION 'cannot start at "%": the earlier step "%" has not succeeded', p_step, blocker
            USING ERRCODE = '22023', HINT = format('Retry from %s.', blocker);
    END IF;
    -- Earlier steps keep their outcome; the rest start afresh.
    SELECT jsonb_agg(CASE WHEN c.position < start_pos THEN e ELSE f END ORDER BY c.position) INTO steps
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.step = e->>'step'
      JOIN jsonb_array_elements(provisioning._initial_steps(provisioning._run_config(t, options))) f
        ON f->>'step' = e->>'step';
    RETURN provisioning._queue_run(t, options, steps, prior.provisioning_metadata, prior, attempt);
END
$$;

CREATE FUNCTION provisioning.provision_retry(tenant_id uuid, step text DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t     provisioning.tenants := provisioning._authorize(tenant_id);
    prior provisioning.tenant_onboarding := provisioning._latest_run(t.id);
BEGIN
    IF prior.id IS NULL THEN
        RAISE EXCEPTION 'tenant % has never been provisioned', t.id
            USING ERRCODE = '22023', HINT = 'Call provision_start first.';
    END IF;
    IF prior.status IN ('PENDING', 'IN_PROGRESS') THEN
        RAISE EXCEPTION 'a provisioning run is already queued or in progress for tenant %', t.id
            USING ERRCODE = 'PT409',
                  HINT = 'Wait for it to finish; provision_status() shows its progress.';
    END IF;
    RETURN provisioning._status_doc(provisioning._retry_run(t, prior, step, 0), 'PROVISIONING');
END
$$;

CREATE FUNCTION provisioning.engine_health(tenant_ids uuid[]) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    tenants provisioning.tenants[];
    probes  jsonb;
BEGIN
    IF tenant_ids IS NULL THEN
        RAISE EXCEPTION 'tenant_ids must not be null' USING ERRCODE = '22023';
    END IF;
    IF cardinality(tenant_ids) > 1000 THEN
        RAISE EXCEPTION 'at most 1000 tenants per call' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(array_agg(provisioning._authorize(id) ORDER BY n), '{}') INTO tenants
      FROM unnest(tenant_ids) WITH ORDINALITY AS u(id, n);
    probes := provisioning._engine_health(
        ARRAY(SELECT DISTINCT x.engine FROM unnest(tenants) x WHERE x.engine IS NOT NULL));
    RETURN (SELECT coalesce(jsonb_agg(
                CASE WHEN x.engine IS NULL
                     THEN jsonb_build_object('tenant_id', x.id, 'engine', NULL, 'status', 'offline',
                                             'latency_ms', NULL, 'checked_at', NULL, 'cached', false,
                                             'error', 'the tenant has no engine')
                     ELSE jsonb_build_object('tenant_id', x.id, 'engine', x.engine) || (probes->x.engine)
                END ORDER BY x.ordinality), '[]')
              FROM unnest(tenants) WITH ORDINALITY AS x);
END
$$;

----------------------------------------------------------------------------------------------------
-- Scheduled retries (pg_cron)
----------------------------------------------------------------------------------------------------

-- Restarts runs that ended FAILED for a transient cause or NOT_PROVISIONED, from their
-- failed step, with exponential backoff: provisioning.retry_base_delay * 2^attempt seconds,
-- at most provisioning.retry_max_delay, at most provisioning.retry_max_attempts times.
CREATE FUNCTION provisioning.retry_due() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    max_attempts integer := coalesce(current_setting('provisioning.retry_max_attempts', true), '5')::integer;
    base_delay   interval := coalesce(current_setting('provisioning.retry_base_delay', true), '60s')::interval;
    max_delay    interval := coalesce(current_setting('provisioning.retry_max_delay', true), '1h')::interval;
    started      integer := 0;
    due          record;
BEGIN
    PERFORM provisioning._require_admin();
    FOR due IN
        SELECT t, r
          FROM provisioning.tenants t
          JOIN LATERAL provisioning._latest_run(t.id) r ON true
         WHERE t.provisioning_status IN ('FAILED', 'NOT_PROVISIONED')
           AND (r.status = 'NOT_PROVISIONED' OR (r.status = 'FAILED' AND r.error_kind IN ('transient', 'offline')))
           AND r.retry_attempt < max_attempts
           AND r.finished_at + least(max_delay, base_delay * 2 ^ r.retry_attempt) <= clock_timestamp()
         FOR UPDATE OF t SKIP LOCKED
    LOOP
        BEGIN
            PERFORM provisioning._retry_run(due.t, due.r, NULL, (due.r).retry_attempt + 1);
            started := started + 1;
        EXCEPTION WHEN SQLSTATE 'PT409' THEN
            NULL;  -- someone started a run meanwhile
        END;
    END LOOP;
    RETURN started;
END
$$;

CREATE FUNCTION provisioning.schedule_retries(schedule text DEFAULT '* * * * *') RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    job bigint;
BEGIN
    PERFORM provisioning._require_admin();
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be null' USING ERRCODE = '22023';
    END IF;
    IF to_regnamespace('cron') IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = '55000',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database and run CREATE EXTENSION pg_cron.';
    END IF;
    BEGIN
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
           INTO job
          USING 'provisioning_retry_due', schedule, 'SELECT provisioning.retry_due()', current_database();
    EXCEPTION WHEN undefined_function OR insufficient_privilege OR object_not_in_prerequisite_state THEN
        RAISE;
    WHEN others THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = '22023', DETAIL = SQLERRM,
                  HINT = 'Use cron syntax such as ''* * * * *'', or ''[1-59] seconds''.';
    END;
    RETURN job;
END
$$;

-- Deletes finished runs (and their log rows) older than provisioning.history_retention,
-- keeping every tenant's latest run, in batches of short transactions' size. The launcher
-- calls it every few minutes; admins may too. Returns the number of runs deleted.
CREATE FUNCTION provisioning.prune_history(batch integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    retention interval := coalesce(current_setting('provisioning.history_retention', true), '90d')::interval;
    deleted   integer;
BEGIN
    PERFORM provisioning._require_admin();
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be a positive number' USING ERRCODE = '22023';
    END IF;
    IF retention <= interval '0' THEN
        RETURN 0;       -- 0 keeps everything
    END IF;
    DELETE FROM provisioning.tenant_onboarding o
     WHERE o.id IN (SELECT x.id FROM provisioning.tenant_onboarding x
                     WHERE x.status NOT IN ('PENDING', 'IN_PROGRESS')
                       AND x.finished_at < clock_timestamp() - retention
                       AND x.id <> (provisioning._latest_run(x.tenant_id)).id
                     LIMIT batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

----------------------------------------------------------------------------------------------------
-- Worker side: called by the background workers only (no grants)
----------------------------------------------------------------------------------------------------

-- Marks a queued or interrupted run IN_PROGRESS and returns what the worker needs,
-- or NULL when the run is no longer runnable.
-- An interrupted run may have left a request in flight; the engine may still apply it.
-- resume_after_ms asks the worker to let provisioning.http_timeout_ms pass since the
-- interrupted attempt began before it looks again, so the re-check sees its effect.
CREATE FUNCTION provisioning._run_begin(p_run_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r            provisioning.tenant_onboarding;
    resumed      boolean;
    resume_after double precision := 0;
BEGIN
    SELECT status = 'IN_PROGRESS' INTO resumed FROM provisioning.tenant_onboarding WHERE id = p_run_id;
    IF resumed THEN
        SELECT greatest(0, extract(epoch FROM coalesce(current_setting('provisioning.http_timeout_ms', true), '15s')::interval
                                              - (clock_timestamp() - max(l.at))) * 1000)
          INTO resume_after
          FROM provisioning.run_log l WHERE l.run_id = p_run_id;
    END IF;
    UPDATE provisioning.tenant_onboarding
       SET status = 'IN_PROGRESS', started_at = coalesce(started_at, clock_timestamp())
     WHERE id = p_run_id AND status IN ('PENDING', 'IN_PROGRESS')
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE provisioning.tenants SET provisioning_status = 'PROVISIONING'
     WHERE id = r.tenant_id AND provisioning_status <> 'PROVISIONING';
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message)
    VALUES (r.tenant_id, r.id, r.correlation_id, 'IN_PROGRESS',
            CASE WHEN resumed THEN 'run resumed' ELSE 'run started' END);
    RETURN jsonb_build_object(
        'correlation_id', r.correlation_id, 'config', r.provisioning_config,
        'resume_after_ms', coalesce(resume_after, 0),
        'steps', r.provisioning_steps, 'metadata', r.provisioning_metadata,
        'engine', (SELECT jsonb_build_object('name', e.name, 'kind', e.kind, 'base_url', e.base_url,
                                             'api_key', e.api_key, 'api_secret', e.api_secret,
                                             'options', e.options)
                     FROM provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine
                    WHERE t.id = r.tenant_id));
END
$$;

-- Records a step boundary in one transaction: the outcome of p_step (status completed,
-- exists, skipped, failed, or retrying while it is retried), the start of p_next_step,
-- the run's metadata, and, with p_run_status, the end of the run.
CREATE FUNCTION provisioning._step_record(p_run_id uuid, p_step text, p_status text, p_attempts integer,
                                          p_message text, p_duration_ms double precision,
                                          p_metadata jsonb, p_next_step text,
                                          p_run_status text, p_error_kind text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r     provisioning.tenant_onboarding;
    now_  timestamptz := clock_timestamp();
    steps jsonb;
    i     integer;
    fail  jsonb;
BEGIN
    SELECT * INTO STRICT r FROM provisioning.tenant_onboarding WHERE id = p_run_id FOR UPDATE;
    steps := r.provisioning_steps;
    IF p_step IS NOT NULL THEN
        SELECT n - 1 INTO STRICT i FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'step' = p_step;
        steps := jsonb_set(steps, ARRAY[i::text], steps->i || jsonb_build_object(
                     'status', CASE WHEN p_status = 'retrying' THEN 'running' ELSE p_status END,
                     'attempts', p_attempts, 'message', p_message)
                 || CASE WHEN p_status = 'retrying' THEN '{}'::jsonb
                         ELSE jsonb_build_object('finished_at', now_, 'duration_ms', p_duration_ms) END);
        INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, step, status, message, duration_ms)
        VALUES (r.tenant_id, r.id, r.correlation_id, p_step, p_status, p_message,
                CASE WHEN p_status <> 'retrying' THEN p_duration_ms END);
    END IF;
    IF p_next_step IS NOT NULL THEN
        SELECT n - 1 INTO STRICT i FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'step' = p_next_step;
        steps := jsonb_set(steps, ARRAY[i::text], steps->i || jsonb_build_object(
                     'status', 'running', 'attempts', (steps->i->>'attempts')::integer + 1,
                     'started_at', now_, 'finished_at', NULL, 'duration_ms', NULL, 'message', NULL));
    END IF;
    IF p_run_status IS NULL THEN
        UPDATE provisioning.tenant_onboarding
           SET provisioning_steps = steps, provisioning_metadata = coalesce(p_metadata, provisioning_metadata)
         WHERE id = p_run_id;
        RETURN;
    END IF;
    -- The run ends: the first failed step names the error.
    SELECT e INTO fail FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
     WHERE e->>'status' = 'failed' ORDER BY n LIMIT 1;
    UPDATE provisioning.tenant_onboarding
       SET provisioning_steps = steps, provisioning_metadata = coalesce(p_metadata, provisioning_metadata),
           status = p_run_status, finished_at = now_, error_step = fail->>'step',
           error_kind = CASE WHEN p_run_status IN ('FAILED', 'NOT_PROVISIONED') THEN p_error_kind END
     WHERE id = p_run_id;
    UPDATE provisioning.tenants
       SET provisioning_status = CASE p_run_status WHEN 'COMPLETED' THEN 'PROVISIONED'
                                                   WHEN 'PARTIAL' THEN 'PARTIAL'
                                                   WHEN 'FAILED' THEN 'FAILED'
                                                   ELSE 'NOT_PROVISIONED' END,
           provisioned_at = CASE WHEN p_run_status IN ('COMPLETED', 'PARTIAL') THEN now_ ELSE provisioned_at END,
           provisioning_error = CASE WHEN fail IS NULL THEN NULL
                                     ELSE format('%s: %s', fail->>'step', fail->>'message') END
     WHERE id = r.tenant_id;
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message, duration_ms)
    VALUES (r.tenant_id, r.id, r.correlation_id, p_run_status,
            CASE WHEN fail IS NULL THEN 'run finished'
                 ELSE format('run finished; %s failed: %s', fail->>'step', fail->>'message') END,
            extract(epoch FROM now_ - r.started_at) * 1000);
END
$$;

----------------------------------------------------------------------------------------------------
-- Starting provisioning when a tenant is inserted
----------------------------------------------------------------------------------------------------

-- Rows restored by pg_dump carry their provisioning status and are left alone. Where no
-- worker would run it (no preload, another database: a restore into a scratch database),
-- the trigger only warns, so the insert or the restore goes through.
CREATE FUNCTION provisioning._tenant_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF NEW.engine IS NULL OR NEW.provisioning_status <> 'NOT_PROVISIONED'
       OR NOT coalesce(current_setting('provisioning.auto_start', true), 'on')::boolean THEN
        RETURN NULL;
    END IF;
    IF NOT provisioning._workers_serve_here() THEN
        RAISE WARNING 'tenant % was not queued for provisioning: no provisioning worker serves database %',
                      NEW.id, current_database()
            USING HINT = 'Call provision_start() where provisioning.database_name points, with the library preloaded.';
        RETURN NULL;
    END IF;
    PERFORM provisioning._queue_run(NEW, '{}', NULL, '{}', NULL, 0);
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_start_provisioning
    AFTER INSERT ON provisioning.tenants
    FOR EACH ROW EXECUTE FUNCTION provisioning._tenant_inserted();

----------------------------------------------------------------------------------------------------
-- Privileges and row level security
----------------------------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA provisioning FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA provisioning FROM PUBLIC;
GRANT USAGE ON SCHEMA provisioning TO provisioning_admin, provisioning_user;

GRANT EXECUTE ON FUNCTION provisioning.provision_start(uuid, jsonb),
                          provisioning.provision_status(uuid),
                          provisioning.provision_logs(uuid),
                          provisioning.provision_retry(uuid, text),
                          provisioning.engine_health(uuid[])
      TO provisioning_admin, provisioning_user;
GRANT EXECUTE ON FUNCTION provisioning.retry_due(), provisioning.schedule_retries(text),
                          provisioning.prune_history(integer)
      TO provisioning_admin;
-- Evaluated by the row level security policies in the caller's name.
GRANT EXECUTE ON FUNCTION provisioning._my_tenant_ids() TO provisioning_admin, provisioning_user;

-- Secrets: the admin role writes engines but reads only the columns without secrets.
GRANT SELECT (name, kind, base_url, options), INSERT, UPDATE, DELETE
      ON provisioning.engines TO provisioning_admin;
GRANT SELECT, INSERT, DELETE ON provisioning.tenants, provisioning.tenant_members TO provisioning_admin;
GRANT UPDATE (name, engine, settings) ON provisioning.tenants TO provisioning_admin;
GRANT UPDATE (role) ON provisioning.tenant_members TO provisioning_admin;
GRANT SELECT ON provisioning.tenant_onboarding, provisioning.run_log, provisioning.step_catalog
      TO provisioning_admin;
GRANT SELECT ON provisioning.tenants, provisioning.tenant_members, provisioning.tenant_onboarding,
                provisioning.run_log, provisioning.step_catalog
      TO provisioning_user;

ALTER TABLE provisioning.engines ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_onboarding ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.run_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY engines_admin ON provisioning.engines TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenants_admin ON provisioning.tenants TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenant_members_admin ON provisioning.tenant_members TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenant_onboarding_admin ON provisioning.tenant_onboarding FOR SELECT TO provisioning_admin USING (true);
CREATE POLICY run_log_admin ON provisioning.run_log FOR SELECT TO provisioning_admin USING (true);

CREATE POLICY tenants_member ON provisioning.tenants FOR SELECT TO provisioning_user
    USING (id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY tenant_members_member ON provisioning.tenant_members FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY tenant_onboarding_member ON provisioning.tenant_onboarding FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY run_log_member ON provisioning.run_log FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
