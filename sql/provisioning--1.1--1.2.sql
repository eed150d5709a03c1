-- provisioning 1.1 -> 1.2.
-- Each section below names what it is for; provisioning--1.2--1.1.sql undoes them in
-- reverse order and keeps every user row.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.2'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Promises under attack (issue 8): identity from gateways only, engine secrets that stay with
-- their engine, one company per tenant and engine, restores that queue nothing, retries and
-- pruning that one bad row cannot stop, and a crash-loop guard the launcher reads from the run.
----------------------------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_gateway') THEN
        CREATE ROLE provisioning_gateway NOLOGIN;
    END IF;
END
$$;

-- Request claims count only where a gateway (PostgREST's authenticator, or the application's
-- login role) logged in: anyone else could set request.jwt.claims to any identity.
CREATE OR REPLACE FUNCTION provisioning._claims() RETURNS jsonb
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    raw    text := nullif(current_setting('request.jwt.claims', true), '');
    claims jsonb;
BEGIN
    IF raw IS NULL OR NOT pg_has_role(session_user, 'provisioning_gateway', 'MEMBER') THEN
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

-- The caller's user id: the sub claim behind a gateway, else the login role's own name.
CREATE OR REPLACE FUNCTION provisioning._sub() RETURNS text
    LANGUAGE sql STABLE AS
$$
    SELECT CASE WHEN pg_has_role(session_user, 'provisioning_gateway', 'MEMBER')
                THEN nullif(provisioning._claims()->>'sub', '')
                ELSE session_user::text END
$$;

-- Engines: a base_url is scheme, host, port and path only; credentials are one header line each
-- and travel only to the engine they were given for. Changing base_url therefore needs both
-- credentials in the same statement: _engine_credentials_given notes which columns an UPDATE
-- names (column triggers fire only for those), _engine_checked then decides.
CREATE FUNCTION provisioning._engine_credentials_given() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM set_config('provisioning_engines.given_' || TG_ARGV[0], NEW.name, true);
    RETURN NEW;
END
$$;

CREATE FUNCTION provisioning._engine_checked() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    key_given    boolean := current_setting('provisioning_engines.given_api_key', true) = NEW.name;
    secret_given boolean := current_setting('provisioning_engines.given_api_secret', true) = NEW.name;
    column_name  text;
    value        text;
BEGIN
    PERFORM set_config('provisioning_engines.given_api_key', '', true);
    PERFORM set_config('provisioning_engines.given_api_secret', '', true);
    IF NEW.base_url ~ '[?#@[:space:][:cntrl:]]' THEN
        RAISE EXCEPTION 'base_url of engine "%" must not contain user info, a query or a fragment', NEW.name
            USING ERRCODE = '22023',
                  DETAIL = 'A base_url is the scheme, host, port and path of the engine, such as https://erp.example.com.',
                  HINT = 'Credentials go into api_key and api_secret.';
    END IF;
    FOREACH column_name IN ARRAY ARRAY['api_key', 'api_secret'] LOOP
        value := CASE column_name WHEN 'api_key' THEN NEW.api_key ELSE NEW.api_secret END;
        IF value ~ '[[:cntrl:]]' THEN
            RAISE EXCEPTION '% of engine "%" must not contain control characters', column_name, NEW.name
                USING ERRCODE = '22023', DETAIL = 'Line breaks would end the HTTP header that carries it.';
        END IF;
        IF octet_length(value) > 1024 THEN
            RAISE EXCEPTION '% of engine "%" is longer than 1024 bytes', column_name, NEW.name
                USING ERRCODE = '22023', DETAIL = 'It is refused rather than cut short.';
        END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' AND NEW.base_url IS DISTINCT FROM OLD.base_url
       AND NOT (key_given AND secret_given) THEN
        RAISE EXCEPTION 'changing the base_url of engine "%" needs its api_key and api_secret in the same statement', NEW.name
            USING ERRCODE = '42501',
                  DETAIL = 'Credentials are sent only to the engine they were given for.',
                  HINT = 'UPDATE provisioning.engines SET base_url = ..., api_key = ..., api_secret = ... WHERE name = ...';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER engines_api_key_given BEFORE UPDATE OF api_key ON provisioning.engines
    FOR EACH ROW EXECUTE FUNCTION provisioning._engine_credentials_given('api_key');
CREATE TRIGGER engines_api_secret_given BEFORE UPDATE OF api_secret ON provisioning.engines
    FOR EACH ROW EXECUTE FUNCTION provisioning._engine_credentials_given('api_secret');
-- named to fire after the two above (BEFORE triggers fire in name order)
CREATE TRIGGER engines_checked BEFORE INSERT OR UPDATE ON provisioning.engines
    FOR EACH ROW EXECUTE FUNCTION provisioning._engine_checked();

-- One company per engine: the company a tenant resolves to (settings.company_name, else its
-- name) is unique per engine, compared the way the engines' databases compare names.
CREATE FUNCTION provisioning._company_taken(p_engine text, p_company text, p_tenant_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    holder uuid;
BEGIN
    SELECT t.id INTO holder FROM provisioning.tenants t
     WHERE t.engine = p_engine AND t.id <> p_tenant_id
       AND md5(lower(coalesce(t.settings->>'company_name', t.name))) = md5(lower(p_company))
       AND lower(coalesce(t.settings->>'company_name', t.name)) = lower(p_company)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'company "%" on engine "%" belongs to tenant %', p_company, p_engine, holder
            USING ERRCODE = '23505',
                  HINT = 'Give this tenant another settings.company_name.';
    END IF;
END
$$;

CREATE FUNCTION provisioning._tenant_company_checked() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF NEW.engine IS NOT NULL THEN
        PERFORM provisioning._company_taken(NEW.engine, coalesce(NEW.settings->>'company_name', NEW.name), NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_company_checked BEFORE INSERT OR UPDATE OF name, engine, settings ON provisioning.tenants
    FOR EACH ROW EXECUTE FUNCTION provisioning._tenant_company_checked();

DO $$
DECLARE
    dup record;
BEGIN
    SELECT engine, lower(coalesce(settings->>'company_name', name)) AS company INTO dup
      FROM provisioning.tenants WHERE engine IS NOT NULL
     GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tenants share company "%" on engine "%"', dup.company, dup.engine
            USING ERRCODE = '23505',
                  HINT = 'Give all but one of them another settings.company_name, then update again.';
    END IF;
END
$$;
-- the race-free guarantee behind the friendlier check above (hashed: a name may be long)
CREATE UNIQUE INDEX tenants_engine_company_key
    ON provisioning.tenants (engine, md5(lower(coalesce(settings->>'company_name', name))))
    WHERE engine IS NOT NULL;

-- When a run began last: the launcher leaves an interrupted run alone for a moment after
-- that, so a run that kills its worker cannot restart in a tight loop.
ALTER TABLE provisioning.tenant_onboarding ADD COLUMN claimed_at timestamptz;

-- Queueing checks the company the run resolves to (options may name another one).
CREATE OR REPLACE FUNCTION provisioning._queue_run(t provisioning.tenants, options jsonb, steps jsonb,
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
    PERFORM provisioning._company_taken(t.engine, config->>'company_name', t.id);
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

-- Options that name things in the engine are an admin's to set: a member naming another
-- tenant's company would act on it.
CREATE OR REPLACE FUNCTION provisioning.provision_start(tenant_id uuid, options jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t      provisioning.tenants := provisioning._authorize(tenant_id);
    naming text;
    r      provisioning.tenant_onboarding;
BEGIN
    IF jsonb_typeof(options) = 'object'
       AND NOT pg_has_role(provisioning._caller(), 'provisioning_admin', 'MEMBER') THEN
        SELECT k INTO naming FROM jsonb_object_keys(options) k
         WHERE k IN ('company_name', 'abbr', 'pos_user') ORDER BY k LIMIT 1;
        IF naming IS NOT NULL THEN
            RAISE EXCEPTION 'only provisioning_admin may set option "%"', naming
                USING ERRCODE = '42501',
                      DETAIL = 'company_name, abbr and pos_user name things in the engine; the tenant''s settings decide them.';
        END IF;
    END IF;
    -- references to what the engine already holds carry over; every step re-checks them
    r := provisioning._queue_run(t, coalesce(options, '{}'), NULL,
                                 coalesce((provisioning._latest_run(t.id)).provisioning_metadata, '{}'),
                                 NULL, 0);
    RETURN provisioning._status_doc(r, 'PROVISIONING');
END
$$;

-- A run begins (or resumes): claimed_at is the crash-loop guard's clock, and resumed tells the
-- worker that requests of an earlier execution may still be in the engine, of any step (a
-- promoted standby never saw the old primary's last steps start): it then creates nothing it
-- does not find until provisioning.write_settle_ms has passed.
CREATE OR REPLACE FUNCTION provisioning._run_begin(p_run_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r       provisioning.tenant_onboarding;
    resumed boolean;
BEGIN
    SELECT status = 'IN_PROGRESS' INTO resumed FROM provisioning.tenant_onboarding WHERE id = p_run_id;
    UPDATE provisioning.tenant_onboarding
       SET status = 'IN_PROGRESS', started_at = coalesce(started_at, clock_timestamp()),
           claimed_at = clock_timestamp()
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
    RETURN provisioning._run_description(r) || jsonb_build_object('resumed', resumed);
END
$$;

-- A restore (pg_dump's scripts and pg_restore run with row_security off) brings tenants back
-- as they were: it queues nothing, whatever their status.
CREATE OR REPLACE FUNCTION provisioning._tenant_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF NEW.engine IS NULL OR NEW.provisioning_status <> 'NOT_PROVISIONED'
       OR NOT coalesce(current_setting('provisioning.auto_start', true), 'on')::boolean
       OR current_setting('row_security') = 'off' THEN
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

-- Each tenant is retried on its own: one with bad settings or no engine is reported and
-- skipped. The delay's exponent is capped before it is computed, so it cannot overflow.
CREATE OR REPLACE FUNCTION provisioning.retry_due() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    max_attempts integer := coalesce(current_setting('provisioning.retry_max_attempts', true), '5')::integer;
    base_s       double precision := extract(epoch FROM coalesce(current_setting('provisioning.retry_base_delay', true), '60s')::interval);
    max_s        double precision := extract(epoch FROM coalesce(current_setting('provisioning.retry_max_delay', true), '1h')::interval);
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
           AND r.finished_at + make_interval(secs => least(max_s, base_s * 2 ^ least(r.retry_attempt, 60)))
               <= clock_timestamp()
         FOR UPDATE OF t SKIP LOCKED
    LOOP
        BEGIN
            PERFORM provisioning._retry_run(due.t, due.r, NULL, (due.r).retry_attempt + 1);
            started := started + 1;
        EXCEPTION
            WHEN SQLSTATE 'PT409' THEN
                NULL;  -- someone started a run meanwhile
            WHEN others THEN
                RAISE WARNING 'retry of tenant % skipped: %', (due.t).id, SQLERRM
                    USING DETAIL = format('SQLSTATE %s.', SQLSTATE);
        END;
    END LOOP;
    RETURN started;
END
$$;

-- Set-based: a run is old history when it finished before the retention and its tenant has
-- a later run (the tenant_onboarding_tenant_created_idx answers that per row).
CREATE OR REPLACE FUNCTION provisioning.prune_history(batch integer DEFAULT 1000) RETURNS integer
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
                       AND EXISTS (SELECT FROM provisioning.tenant_onboarding y
                                    WHERE y.tenant_id = x.tenant_id AND y.created_at > x.created_at)
                     LIMIT batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

REVOKE ALL ON FUNCTION provisioning._engine_credentials_given(), provisioning._engine_checked(),
                       provisioning._company_taken(text, text, uuid), provisioning._tenant_company_checked()
       FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- Live progress: engine_kind, workspace_url and NOTIFY provisioning (issue 11)
----------------------------------------------------------------------------------------------------

-- Where a user enters a provisioned workspace: the engine's point-of-sale page (ERPNext's
-- desk page /app/point-of-sale, Odoo's POS UI for the run's pos.config), or the engine's
-- home page when the run made no POS. base_url holds no user info (engines' CHECK); its
-- query and fragment are dropped.
-- No SET clause: it is inlined into the status document (its callers fix search_path).
CREATE FUNCTION provisioning._workspace_url(engine_kind text, base_url text, metadata jsonb)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS
$$
    SELECT rtrim(regexp_replace(base_url, '[?#].*$', ''), '/') ||
           CASE engine_kind
               WHEN 'erpnext' THEN CASE WHEN metadata ? 'pos_profile' THEN '/app/point-of-sale' ELSE '/app' END
               WHEN 'odoo' THEN CASE WHEN metadata ? 'pos_config_id'
                                     THEN '/pos/ui?config_id=' || (metadata->>'pos_config_id')::bigint
                                     ELSE '/web' END
           END
$$;

-- A run's progress in percent: its settled steps of all, 100 only once it completed.
-- No SET clause: it is inlined into its callers (which fix search_path).
CREATE FUNCTION provisioning._progress(done bigint, total bigint, run_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS
$$
    SELECT CASE WHEN run_status = 'COMPLETED' THEN 100
                ELSE least(99, (100 * done) / greatest(total, 1))::integer END
$$;

-- The status document of a run (spec section 4), given its engine's kind and base URL.
-- PL/pgSQL, not SQL: its plan is kept for the session instead of being made again in every
-- transaction, which makes provision_status faster than in 1.1.
CREATE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text,
                                         engine_kind text, engine_url text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE AS
$$
BEGIN
    RETURN (SELECT jsonb_build_object(
               'tenant_id', r.tenant_id, 'run_id', r.id, 'correlation_id', r.correlation_id,
               'provisioning_type', r.provisioning_type, 'engine_kind', engine_kind,
               'workspace_url', CASE WHEN r.status IN ('COMPLETED', 'PARTIAL')
                                     THEN provisioning._workspace_url(engine_kind, engine_url,
                                                                      r.provisioning_metadata) END,
               'status', r.status, 'tenant_status', tenant_status,
               'progress', provisioning._progress(s.done, s.total, r.status),
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
              FROM jsonb_array_elements(r.provisioning_steps) e) s);
END
$$;

-- The 1.1 signature, kept for provision_start and provision_retry: looks the engine up.
CREATE OR REPLACE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text)
    RETURNS jsonb
    LANGUAGE sql STABLE AS
$$
    SELECT provisioning._status_doc(r, tenant_status, e.kind, e.base_url)
      FROM (SELECT) one
      LEFT JOIN (provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine)
             ON t.id = r.tenant_id
$$;

-- The latest run and its engine in one query.
CREATE OR REPLACE FUNCTION provisioning.provision_status(tenant_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t   provisioning.tenants := provisioning._authorize(tenant_id);
    doc jsonb;
BEGIN
    SELECT CASE WHEN latest.run IS NULL
                THEN jsonb_build_object('tenant_id', t.id, 'run_id', NULL, 'correlation_id', NULL,
                                        'provisioning_type', NULL, 'engine_kind', e.kind,
                                        'workspace_url', NULL, 'status', 'NOT_PROVISIONED',
                                        'tenant_status', t.provisioning_status, 'progress', 0,
                                        'steps_completed', 0, 'steps_total', 0, 'current_step', NULL,
                                        'error_step', NULL, 'errors', '[]'::jsonb, 'steps', '[]'::jsonb,
                                        'started_at', NULL, 'finished_at', NULL)
                ELSE provisioning._status_doc(latest.run, t.provisioning_status, e.kind, e.base_url) END
      INTO doc
      FROM (SELECT) one
      LEFT JOIN provisioning.engines e ON e.name = t.engine
      LEFT JOIN LATERAL (SELECT o AS run FROM provisioning.tenant_onboarding o
                          WHERE o.tenant_id = t.id ORDER BY o.created_at DESC LIMIT 1) latest ON true;
    RETURN doc;
END
$$;

-- NOTIFY provisioning at commit (spec section 8) for every change of a run: queued, started,
-- a step started or ended (one notification per step whose status changed, in step order),
-- the run ended. Ids, statuses and progress only: never a message or a secret. In C
-- (src/notify.c): it fires at every step boundary.
CREATE FUNCTION provisioning._run_notify() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'provisioning_run_notify';

CREATE TRIGGER tenant_onboarding_notify
    AFTER INSERT OR UPDATE OF status, provisioning_steps ON provisioning.tenant_onboarding
    FOR EACH ROW EXECUTE FUNCTION provisioning._run_notify();

REVOKE ALL ON FUNCTION provisioning._workspace_url(text, text, jsonb),
                       provisioning._progress(bigint, bigint, text),
                       provisioning._status_doc(provisioning.tenant_onboarding, text, text, text),
                       provisioning._run_notify()
      FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- Metrics (issue 13)
----------------------------------------------------------------------------------------------------

-- The run_queued server log line, in the key=value form of the run workers' lines
-- (src/run_events.c), at provisioning.log_level.
CREATE FUNCTION provisioning._log_run_queued(correlation_id uuid, run_id uuid, tenant_id uuid,
                                             engine text, kind text, step text, retry_of uuid)
    RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_log_run_queued';

-- Logs a queued run as the queueing transaction commits (a start rolled back logs
-- nothing), where a worker will run it (a restore elsewhere queues nothing). It runs in
-- the caller's session, hence SECURITY DEFINER: users may not read engines.
CREATE FUNCTION provisioning._run_queued() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._log_run_queued(
                    NEW.correlation_id, NEW.id, NEW.tenant_id, e.name, e.kind,
                    (SELECT s->>'step' FROM jsonb_array_elements(NEW.provisioning_steps) s
                      WHERE s->>'status' = 'pending' LIMIT 1),
                    NEW.retry_of)
           FROM provisioning.tenants t LEFT JOIN provisioning.engines e ON e.name = t.engine
          WHERE t.id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tenant_onboarding_log_queued
    AFTER INSERT ON provisioning.tenant_onboarding
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'PENDING')
    EXECUTE FUNCTION provisioning._run_queued();

-- How provisioning is doing, for monitoring (admins only). Rows:
--   engine, kind, step     one engine's runs of one step;
--   NULL, NULL, step       that step on every engine;
--   engine, kind, NULL     one engine's runs as a whole, with its queue;
--   NULL, NULL, NULL       every run, the whole queue and the tenants by provisioning_status.
-- Runs count when they finished within provisioning.metrics_window; a step counts in the
-- run that executed it (a retry's carried steps ran in the earlier run). Durations are
-- milliseconds; retries are attempts beyond the first. The engine of a run is its tenant's;
-- '' for a tenant whose engine was removed. Each table is read through an index: runs
-- finished in the window (tenant_onboarding_finished_idx), the queue
-- (idx_tenant_onboarding_provisioning_status), tenants by status
-- (idx_tenants_provisioning_status), a run's tenant by primary key (a lookup per run
-- costs less than a pass over every tenant), an engine's kind once per row. A scrape
-- costs the step executions of the window: a view cannot carry settings, so the query
-- lives in a function that turns JIT off (compiling it costs more than running it) and
-- gives its sorts 64MB. It runs as the caller: an admin sees every row through the
-- policies.
CREATE FUNCTION provisioning._metrics()
    RETURNS TABLE (engine text, kind text, step text, runs bigint, completed bigint, existed bigint,
                   skipped bigint, partial bigint, failed bigint, not_provisioned bigint,
                   p50_ms double precision, p95_ms double precision, max_ms double precision,
                   retries bigint, last_error text, last_error_at timestamptz,
                   queued bigint, in_flight bigint, oldest_queued_s double precision,
                   tenants_not_provisioned bigint, tenants_provisioning bigint, tenants_provisioned bigint,
                   tenants_partial bigint, tenants_failed bigint)
    LANGUAGE sql STABLE SET jit = off SET work_mem = '64MB' SET search_path = pg_catalog, pg_temp AS
$$
-- (OFFSET 0 keeps the subquery whole: a run's engine is looked up once, not once per step)
WITH recent AS NOT MATERIALIZED (
    SELECT o.status, o.created_at, o.started_at, o.finished_at, o.retry_of, o.error_step, o.provisioning_steps,
           coalesce((SELECT t.engine FROM provisioning.tenants t WHERE t.id = o.tenant_id), '') AS engine
      FROM provisioning.tenant_onboarding o
     WHERE o.status NOT IN ('PENDING', 'IN_PROGRESS')
       AND o.finished_at >= now() - coalesce(current_setting('provisioning.metrics_window', true), '1d')::interval
    OFFSET 0
),
executed AS (
    SELECT r.engine, x.step, x.status,
           greatest((s->>'attempts')::integer - 1, 0) AS retries,
           (s->>'duration_ms')::double precision AS duration_ms,
           CASE WHEN x.status = 'failed' THEN s->>'message' END AS message,
           CASE WHEN x.status = 'failed' THEN (s->>'finished_at')::timestamptz END AS finished_at
      FROM recent r, jsonb_array_elements(r.provisioning_steps) s,
           LATERAL (SELECT s->>'step' AS step, s->>'status' AS status) x
     WHERE s->>'finished_at' IS NOT NULL
       AND (r.retry_of IS NULL OR (s->>'finished_at')::timestamptz >= r.created_at)
),
step_stats AS (
    SELECT engine, step,
           count(*) AS runs,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'exists') AS existed,
           count(*) FILTER (WHERE status = 'skipped') AS skipped,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
           max(duration_ms) AS max_ms,
           sum(retries) AS retries,
           (array_agg(message ORDER BY finished_at DESC) FILTER (WHERE status = 'failed'))[1] AS last_error,
           max(finished_at) AS last_error_at
      FROM executed
     GROUP BY GROUPING SETS ((engine, step), (step))
),
runs AS (
    SELECT engine, status, created_at, finished_at,
           (extract(epoch FROM finished_at - started_at) * 1000)::double precision AS duration_ms,
           CASE WHEN error_step IS NOT NULL
                THEN format('%s: %s', error_step,
                            jsonb_path_query_first(provisioning_steps, '$[*] ? (@.step == $s)',
                                                   jsonb_build_object('s', error_step))->>'message')
           END AS error
      FROM recent
    UNION ALL
    SELECT coalesce((SELECT t.engine FROM provisioning.tenants t WHERE t.id = o.tenant_id), ''),
           o.status, o.created_at, NULL, NULL, NULL
      FROM provisioning.tenant_onboarding o
     WHERE o.status IN ('PENDING', 'IN_PROGRESS')
),
run_stats AS (
    SELECT engine,
           count(*) FILTER (WHERE finished_at IS NOT NULL) AS runs,
           count(*) FILTER (WHERE status = 'COMPLETED') AS completed,
           count(*) FILTER (WHERE status = 'PARTIAL') AS partial,
           count(*) FILTER (WHERE status = 'FAILED') AS failed,
           count(*) FILTER (WHERE status = 'NOT_PROVISIONED') AS not_provisioned,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
           max(duration_ms) AS max_ms,
           (array_agg(error ORDER BY finished_at DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error,
           max(finished_at) FILTER (WHERE error IS NOT NULL) AS last_error_at,
           count(*) FILTER (WHERE status = 'PENDING') AS queued,
           count(*) FILTER (WHERE status = 'IN_PROGRESS') AS in_flight,
           extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'PENDING'))::double precision
               AS oldest_queued_s
      FROM runs
     GROUP BY GROUPING SETS ((engine), ())
),
-- a run's retries are its steps': per engine from that engine's step rows, in total from
-- the every-engine step rows (engine NULL)
run_retries AS (
    SELECT engine, sum(retries)::bigint AS retries FROM step_stats GROUP BY engine
),
tenant_counts AS MATERIALIZED (
    SELECT count(*) FILTER (WHERE provisioning_status = 'NOT_PROVISIONED') AS not_provisioned,
           count(*) FILTER (WHERE provisioning_status = 'PROVISIONING') AS provisioning,
           count(*) FILTER (WHERE provisioning_status = 'PROVISIONED') AS provisioned,
           count(*) FILTER (WHERE provisioning_status = 'PARTIAL') AS partial,
           count(*) FILTER (WHERE provisioning_status = 'FAILED') AS failed
      FROM provisioning.tenants
)
SELECT x.engine, e.kind, x.step, x.runs, x.completed, x.existed, x.skipped, NULL, x.failed, NULL,
       x.p50_ms, x.p95_ms, x.max_ms, x.retries, x.last_error, x.last_error_at,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM step_stats x LEFT JOIN provisioning.engines e ON e.name = x.engine
UNION ALL
SELECT g.engine, e.kind, NULL, g.runs, g.completed, NULL, NULL, g.partial, g.failed, g.not_provisioned,
       g.p50_ms, g.p95_ms, g.max_ms, coalesce(x.retries, 0), g.last_error, g.last_error_at,
       g.queued, g.in_flight, g.oldest_queued_s,
       c.not_provisioned, c.provisioning, c.provisioned, c.partial, c.failed
  FROM run_stats g
  LEFT JOIN run_retries x
    ON coalesce(x.engine, '') = coalesce(g.engine, '') AND (x.engine IS NULL) = (g.engine IS NULL)
  LEFT JOIN tenant_counts c ON g.engine IS NULL
  LEFT JOIN provisioning.engines e ON e.name = g.engine
 ORDER BY 1 NULLS FIRST, 3 NULLS FIRST
$$;

CREATE VIEW provisioning.metrics WITH (security_invoker = true) AS
    SELECT * FROM provisioning._metrics();

REVOKE ALL ON provisioning.metrics FROM PUBLIC;
GRANT SELECT ON provisioning.metrics TO provisioning_admin;
REVOKE ALL ON FUNCTION provisioning._log_run_queued(uuid, uuid, uuid, text, text, text, uuid),
                       provisioning._run_queued(), provisioning._metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION provisioning._metrics() TO provisioning_admin;

-- The status vocabulary the C code works with (status.h), for a test to hold against the
-- tables' check constraints and the SQL that writes statuses.
CREATE FUNCTION provisioning._vocabulary() RETURNS jsonb
    LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'provisioning_vocabulary';
REVOKE ALL ON FUNCTION provisioning._vocabulary() FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- Engine kinds (issue 10): the step catalog and the settings' defaults per kind of engine. Both
-- kinds have the same ten step keys, so a status document looks the same for either.
----------------------------------------------------------------------------------------------------

CREATE TABLE provisioning.engine_kinds (
    kind             text PRIMARY KEY CHECK (kind IN ('erpnext', 'odoo')),
    setting_defaults jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(setting_defaults) = 'object')
);
INSERT INTO provisioning.engine_kinds VALUES
    ('erpnext', '{"chart_of_accounts": "Standard"}'),
    ('odoo',    '{"chart_of_accounts": "generic_coa"}');

ALTER TABLE provisioning.step_catalog
    ADD COLUMN engine_kind text NOT NULL DEFAULT 'erpnext' REFERENCES provisioning.engine_kinds (kind),
    DROP CONSTRAINT step_catalog_pkey,
    DROP CONSTRAINT step_catalog_position_key,
    DROP CONSTRAINT step_catalog_condition_check;
ALTER TABLE provisioning.step_catalog
    ALTER COLUMN engine_kind DROP DEFAULT,
    ADD CONSTRAINT step_catalog_pkey PRIMARY KEY (engine_kind, step),
    ADD CONSTRAINT step_catalog_position_key UNIQUE (engine_kind, position),
    -- unsupported: the engine has nothing to do for the step; it is skipped, with the
    -- description as the reason
    ADD CONSTRAINT step_catalog_condition_check
        CHECK (condition IN ('always', 'demo_data', 'pos', 'unsupported'));
INSERT INTO provisioning.step_catalog (engine_kind, step, position, critical, condition, description) VALUES
    ('odoo', 'step_0_engine_check',        0, true,  'always',      'engine reachable and the login and API key accepted'),
    ('odoo', 'step_1_fiscal_year',         1, true,  'unsupported', 'Odoo Community has no fiscal-year document'),
    ('odoo', 'step_2_company',             2, true,  'always',      'the company (res.company), and the API user''s access to it'),
    ('odoo', 'step_3_chart_of_accounts',   3, true,  'always',      'the chart template loaded for the company, with its accounts and journals'),
    ('odoo', 'step_4_warehouses',          4, true,  'always',      'Main Store, and POS Store when pos_store_enabled (stock.warehouse)'),
    ('odoo', 'step_5_settings',            5, true,  'always',      'the company''s settings'),
    ('odoo', 'step_6_items',               6, false, 'demo_data',   'demo products available in the POS when include_demo_data'),
    ('odoo', 'step_7_customer',            7, true,  'always',      'customer Walk-In Customer (res.partner)'),
    ('odoo', 'step_8_pos_profile',         8, true,  'pos',         'a Cash payment method and the POS configuration (pos.config)'),
    ('odoo', 'step_9_pos_session',         9, true,  'pos',         'an opened POS session (pos.session)');
GRANT SELECT ON provisioning.engine_kinds TO provisioning_admin, provisioning_user;

-- The settings a run uses: the kind's defaults, then the tenant's settings, then this run's
-- options; engine_kind says which catalog the run's steps come from.
CREATE OR REPLACE FUNCTION provisioning._run_config(t provisioning.tenants, options jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    engine_kind text := coalesce((SELECT e.kind FROM provisioning.engines e WHERE e.name = t.engine), 'erpnext');
    config      jsonb;
BEGIN
    PERFORM provisioning._check_settings(t.settings, 'setting');
    PERFORM provisioning._check_settings(options, 'option');
    config := jsonb_build_object('company_name', t.name, 'currency', 'USD', 'country', 'United States',
                                 'include_demo_data', false, 'pos_store_enabled', true,
                                 'provisioning_type', 'FULL_POS')
              || (SELECT k.setting_defaults FROM provisioning.engine_kinds k WHERE k.kind = engine_kind)
              || t.settings || options || jsonb_build_object('engine_kind', engine_kind);
    IF length(config->>'company_name') NOT BETWEEN 1 AND 140 OR config->>'company_name' ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'company name must be 1 to 140 characters without control characters'
            USING ERRCODE = '22023',
                  HINT = 'Set settings.company_name, or pass company_name in options.';
    END IF;
    RETURN config;
END
$$;

-- A fresh step list for a run: every step of the engine kind's catalog for the run's type,
-- skipped where its condition does not hold, with the reason.
CREATE OR REPLACE FUNCTION provisioning._initial_steps(config jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
    SELECT jsonb_agg(jsonb_build_object(
               'step', c.step,
               'status', CASE WHEN s.reason IS NULL THEN 'pending' ELSE 'skipped' END,
               'critical', c.critical, 'attempts', 0,
               'started_at', NULL, 'finished_at', NULL, 'duration_ms', NULL,
               'message', s.reason)
             ORDER BY c.position)
      FROM provisioning.step_catalog c,
           LATERAL (SELECT CASE WHEN c.condition = 'unsupported' THEN c.description
                                WHEN c.condition = 'demo_data' AND NOT (config->>'include_demo_data')::boolean
                                THEN 'include_demo_data is off' END AS reason) s
     WHERE c.engine_kind = coalesce(config->>'engine_kind', 'erpnext')
       AND NOT (c.condition = 'pos' AND config->>'provisioning_type' = 'BASIC')
$$;

-- A new run of the tenant's latest run, starting at p_step; the steps before it are carried
-- over, not re-run. The settings are resolved again (the tenant's settings may have been
-- fixed since) with the options and type of the earlier run; its steps are those of the
-- earlier run's engine kind.
CREATE OR REPLACE FUNCTION provisioning._retry_run(t provisioning.tenants, prior provisioning.tenant_onboarding,
                                                   p_step text, attempt integer)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    options   jsonb := prior.options || jsonb_build_object('provisioning_type', prior.provisioning_type);
    kind      text := coalesce(prior.provisioning_config->>'engine_kind', 'erpnext');
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
    SELECT c.position INTO start_pos FROM provisioning.step_catalog c WHERE c.engine_kind = kind AND c.step = p_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown step "%"', p_step
            USING ERRCODE = '22023',
                  HINT = 'Steps: ' || (SELECT string_agg(c.step, ', ' ORDER BY c.position)
                                         FROM provisioning.step_catalog c WHERE c.engine_kind = kind) || '.';
    END IF;
    IF NOT EXISTS (SELECT FROM jsonb_array_elements(prior.provisioning_steps) e WHERE e->>'step' = p_step) THEN
        RAISE EXCEPTION 'step "%" is not part of a % run', p_step, prior.provisioning_type
            USING ERRCODE = '22023';
    END IF;
    SELECT e->>'step' INTO blocker
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.step = e->>'step'
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
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.step = e->>'step'
      JOIN jsonb_array_elements(provisioning._initial_steps(provisioning._run_config(t, options))) f
        ON f->>'step' = e->>'step';
    RETURN provisioning._queue_run(t, options, steps, prior.provisioning_metadata, prior, attempt);
END
$$;

----------------------------------------------------------------------------------------------------
-- The critical path (issue 12): each step names the steps whose results it reads (a document
-- in the engine, or a reference in the run's metadata). A run starts a step once every step it
-- depends on has settled, so steps that do not depend on each other run at the same time
-- (provisioning.max_parallel_steps at most); the position stays the order of the status
-- document and of a sequential run.
----------------------------------------------------------------------------------------------------

ALTER TABLE provisioning.step_catalog
    ADD COLUMN depends_on text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT step_catalog_depends_on_check CHECK (NOT step = ANY (depends_on));
UPDATE provisioning.step_catalog c SET depends_on = d.depends_on::text[]
  FROM (VALUES
    -- nothing is touched before the engine answered and accepted the key
    ('erpnext', 'step_1_fiscal_year',       '{step_0_engine_check}'),
    ('erpnext', 'step_2_company',           '{step_0_engine_check}'),
    -- the company's accounts; whether this run made the company
    ('erpnext', 'step_3_chart_of_accounts', '{step_2_company}'),
    -- the company's abbreviation names the warehouses
    ('erpnext', 'step_4_warehouses',        '{step_2_company}'),
    -- the default warehouse is Main Store
    ('erpnext', 'step_5_settings',          '{step_4_warehouses}'),
    -- item defaults name Main Store
    ('erpnext', 'step_6_items',             '{step_4_warehouses}'),
    ('erpnext', 'step_7_customer',          '{step_0_engine_check}'),
    -- the company's write-off, cost center and cash accounts, the POS Store, the customer,
    -- and the API user (step 0) as the POS user
    ('erpnext', 'step_8_pos_profile',       '{step_0_engine_check,step_3_chart_of_accounts,step_4_warehouses,step_7_customer}'),
    ('erpnext', 'step_9_pos_session',       '{step_8_pos_profile}'),
    ('odoo',    'step_1_fiscal_year',       '{step_0_engine_check}'),
    ('odoo',    'step_2_company',           '{step_0_engine_check}'),
    -- the company, and whether this run made it
    ('odoo',    'step_3_chart_of_accounts', '{step_2_company}'),
    ('odoo',    'step_4_warehouses',        '{step_2_company}'),
    -- after the chart, which may set the company's fiscal year
    ('odoo',    'step_5_settings',          '{step_3_chart_of_accounts}'),
    ('odoo',    'step_6_items',             '{step_2_company}'),
    ('odoo',    'step_7_customer',          '{step_2_company}'),
    -- the cash journal (the chart), the warehouse, and the config the chart may have made
    ('odoo',    'step_8_pos_profile',       '{step_3_chart_of_accounts,step_4_warehouses}'),
    ('odoo',    'step_9_pos_session',       '{step_8_pos_profile}')
  ) d(engine_kind, step, depends_on)
 WHERE c.engine_kind = d.engine_kind AND c.step = d.step;

-- What a worker needs to execute a run (credentials included): its settings, steps, metadata,
-- engine, why a critical step failed (error_kind, set before the run's end while other steps
-- still run), and each step's dependencies (depends_on: step -> the steps it waits for, from the
-- step catalog of the run's engine kind). PL/pgSQL, not SQL: a SQL function with a SET clause
-- is planned again in every transaction (0.3 ms of every run's start), PL/pgSQL keeps its plan.
CREATE FUNCTION provisioning._run_description(r provisioning.tenant_onboarding) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN jsonb_build_object(
        'correlation_id', r.correlation_id, 'config', r.provisioning_config,
        'tenant_id', r.tenant_id, 'started_at', extract(epoch FROM r.started_at),
        'queued_ms', extract(epoch FROM r.started_at - r.created_at) * 1000,
        'steps', r.provisioning_steps, 'metadata', r.provisioning_metadata, 'error_kind', r.error_kind,
        'depends_on', (SELECT coalesce(jsonb_object_agg(c.step, c.depends_on), '{}')
                         FROM provisioning.step_catalog c
                        WHERE c.engine_kind = coalesce(r.provisioning_config->>'engine_kind', 'erpnext')),
        'engine', (SELECT jsonb_build_object('name', e.name, 'kind', e.kind, 'base_url', e.base_url,
                                             'api_key', e.api_key, 'api_secret', e.api_secret,
                                             'options', e.options)
                     FROM provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine
                    WHERE t.id = r.tenant_id));
END
$$;

-- The description of a run in progress for a step worker, changing nothing; NULL when the
-- run is no longer in progress. PL/pgSQL for the same reason.
CREATE FUNCTION provisioning._run_describe(p_run_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN (SELECT provisioning._run_description(o)
              FROM provisioning.tenant_onboarding o
             WHERE o.id = p_run_id AND o.status = 'IN_PROGRESS');
END
$$;

REVOKE ALL ON FUNCTION provisioning._run_description(provisioning.tenant_onboarding),
                       provisioning._run_describe(uuid)
      FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- Bookkeeping (issue 12): a run's row is updated at every step boundary. Room left on its page
-- keeps those updates HOT (no new entry in each of the table's indexes). Pages written from
-- now on get it; the rows already there stay where they are.
----------------------------------------------------------------------------------------------------

ALTER TABLE provisioning.tenant_onboarding SET (fillfactor = 70);

-- The workers wait for this schema; once it commits, the queue is theirs again.
DO $$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._wake();
    END IF;
END
$$;
