-- provisioning 1.2 -> 1.1: the rollback of 1.2. Undoes provisioning--1.1--1.2.sql section
-- by section, in reverse order; every user row is kept.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.1'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Bookkeeping (issue 12), undone.
----------------------------------------------------------------------------------------------------

ALTER TABLE provisioning.tenant_onboarding RESET (fillfactor);

----------------------------------------------------------------------------------------------------
-- The critical path (issue 12), undone: steps without dependencies, run descriptions built by
-- _run_begin alone (its 1.1 definition comes back below).
----------------------------------------------------------------------------------------------------

DROP FUNCTION provisioning._run_describe(uuid);
DROP FUNCTION provisioning._run_description(provisioning.tenant_onboarding);
ALTER TABLE provisioning.step_catalog
    DROP CONSTRAINT step_catalog_depends_on_check,
    DROP COLUMN depends_on;

----------------------------------------------------------------------------------------------------
-- Engine kinds (issue 10), undone: one ERPNext step catalog again.
----------------------------------------------------------------------------------------------------

DELETE FROM provisioning.step_catalog WHERE engine_kind <> 'erpnext';
ALTER TABLE provisioning.step_catalog
    DROP CONSTRAINT step_catalog_pkey,
    DROP CONSTRAINT step_catalog_position_key,
    DROP CONSTRAINT step_catalog_condition_check,
    DROP COLUMN engine_kind;
ALTER TABLE provisioning.step_catalog
    ADD CONSTRAINT step_catalog_pkey PRIMARY KEY (step),
    ADD CONSTRAINT step_catalog_position_key UNIQUE (position),
    ADD CONSTRAINT step_catalog_condition_check CHECK (condition IN ('always', 'demo_data', 'pos'));
DROP TABLE provisioning.engine_kinds;

CREATE OR REPLACE FUNCTION provisioning._run_config(t provisioning.tenants, options jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION provisioning._initial_steps(config jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION provisioning._retry_run(t provisioning.tenants, prior provisioning.tenant_onboarding,
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

----------------------------------------------------------------------------------------------------
-- Metrics (issue 13)
----------------------------------------------------------------------------------------------------

DROP VIEW provisioning.metrics;
DROP FUNCTION provisioning._metrics();
DROP TRIGGER tenant_onboarding_log_queued ON provisioning.tenant_onboarding;
DROP FUNCTION provisioning._run_queued();
DROP FUNCTION provisioning._log_run_queued(uuid, uuid, uuid, text, text, text, uuid);

----------------------------------------------------------------------------------------------------
-- Live progress: engine_kind, workspace_url and NOTIFY provisioning (issue 11)
----------------------------------------------------------------------------------------------------

DROP TRIGGER tenant_onboarding_notify ON provisioning.tenant_onboarding;
DROP FUNCTION provisioning._run_notify();

-- The 1.1 definitions.
CREATE OR REPLACE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text)
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

CREATE OR REPLACE FUNCTION provisioning.provision_status(tenant_id uuid) RETURNS jsonb
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

DROP FUNCTION provisioning._status_doc(provisioning.tenant_onboarding, text, text, text);
DROP FUNCTION provisioning._workspace_url(text, text, jsonb);
DROP FUNCTION provisioning._progress(bigint, bigint, text);

----------------------------------------------------------------------------------------------------
-- Promises under attack (issue 8), undone: the 1.1 definitions come back; the gateway role
-- stays (roles are the cluster's, and other databases may use them).
----------------------------------------------------------------------------------------------------

DROP FUNCTION provisioning._vocabulary();
DROP TRIGGER tenants_company_checked ON provisioning.tenants;
DROP FUNCTION provisioning._tenant_company_checked();
DROP FUNCTION provisioning._company_taken(text, text, uuid);
DROP INDEX provisioning.tenants_engine_company_key;
DROP TRIGGER engines_checked ON provisioning.engines;
DROP TRIGGER engines_api_secret_given ON provisioning.engines;
DROP TRIGGER engines_api_key_given ON provisioning.engines;
DROP FUNCTION provisioning._engine_checked();
DROP FUNCTION provisioning._engine_credentials_given();
ALTER TABLE provisioning.tenant_onboarding DROP COLUMN claimed_at;

CREATE OR REPLACE FUNCTION provisioning._claims() RETURNS jsonb
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

CREATE OR REPLACE FUNCTION provisioning._sub() RETURNS text
    LANGUAGE sql STABLE AS
$$
    SELECT nullif(provisioning._claims()->>'sub', '')
$$;

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

CREATE OR REPLACE FUNCTION provisioning.provision_start(tenant_id uuid, options jsonb DEFAULT '{}')
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

CREATE OR REPLACE FUNCTION provisioning._run_begin(p_run_id uuid) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION provisioning._tenant_inserted() RETURNS trigger
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

CREATE OR REPLACE FUNCTION provisioning.retry_due() RETURNS integer
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
                       AND x.id <> (provisioning._latest_run(x.tenant_id)).id
                     LIMIT batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

