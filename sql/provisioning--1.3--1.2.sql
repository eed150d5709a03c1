-- provisioning 1.3 -> 1.2: the rollback of 1.3. Undoes provisioning--1.2--1.3.sql section
-- by section, in reverse order; every user row is kept (unsettled_creates is bookkeeping of
-- the 1.3 workers, which a 1.2 library does not read), but the audit's, the engine outages'
-- and the lifecycle runs': 1.2 has none of them (and it stops while exports are kept).

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.2'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Lifecycle operations (issue 20), undone. 1.2 knows no lifecycle run and no tenant status it
-- leaves: the runs of VERIFY, SUSPEND, RESUME and OFFBOARD go, with their log and audit rows
-- (the provisioning runs before them keep what they made); a suspended or offboarded tenant is
-- kept as PROVISIONED, its provisioning_error saying what it was. Exports are user data 1.2
-- has no table for: the downgrade stops while there are any, so none is lost without an
-- admin's say. The operations' columns and rows go with the operations, below.
----------------------------------------------------------------------------------------------------

DO $$
BEGIN
    IF EXISTS (SELECT FROM provisioning.tenant_exports) THEN
        RAISE EXCEPTION 'provisioning.tenant_exports holds % rows, which version 1.2 has no table for',
                        (SELECT count(*) FROM provisioning.tenant_exports)
            USING ERRCODE = '55000',
                  HINT = 'Copy them elsewhere (COPY provisioning.tenant_exports TO ...), delete them, then downgrade again.';
    END IF;
END
$$;
DROP FUNCTION provisioning.provision_offboard(uuid, text);
DROP FUNCTION provisioning.provision_resume(uuid);
DROP FUNCTION provisioning.provision_suspend(uuid, text);
DROP FUNCTION provisioning.provision_verify(uuid);
DROP FUNCTION provisioning._queue_operation(provisioning.tenants, text, text);
DROP FUNCTION provisioning._check_operation(provisioning.tenants, text);
DROP FUNCTION provisioning._latest_provisioning(uuid);

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

-- leaving the extension first also takes it off pg_dump's list (extconfig)
ALTER EXTENSION provisioning DROP TABLE provisioning.tenant_exports;
DROP TABLE provisioning.tenant_exports;

DELETE FROM provisioning.tenant_onboarding o
 USING provisioning.operations op
 WHERE op.operation = o.provisioning_type AND NOT op.provisions;
UPDATE provisioning.tenants
   SET provisioning_error = format('%s before the downgrade to 1.2', lower(provisioning_status)),
       provisioning_status = 'PROVISIONED'
 WHERE provisioning_status IN ('SUSPENDED', 'OFFBOARDED');
ALTER TABLE provisioning.tenants DROP CONSTRAINT tenants_provisioning_status_check,
    ADD CONSTRAINT tenants_provisioning_status_check
        CHECK (provisioning_status IN ('NOT_PROVISIONED', 'PROVISIONING', 'PROVISIONED', 'PARTIAL', 'FAILED'));

----------------------------------------------------------------------------------------------------
-- Engine capacity in the metrics (issue 19), undone: the metrics are 1.2's, without the engines'
-- requests, and nothing reads the engines' use.
----------------------------------------------------------------------------------------------------

DROP VIEW provisioning.metrics;
DROP FUNCTION provisioning._metrics();
DROP FUNCTION provisioning._engine_use();
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
REVOKE ALL ON FUNCTION provisioning._metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION provisioning._metrics() TO provisioning_admin;
REVOKE ALL ON provisioning.metrics FROM PUBLIC;
GRANT SELECT ON provisioning.metrics TO provisioning_admin;

----------------------------------------------------------------------------------------------------
-- Engine capacity (issue 19), undone: the outages go with their rows; retries are 1.2's again
-- (the status document without waiting comes back with the sections below).
----------------------------------------------------------------------------------------------------

DROP FUNCTION provisioning._run_waiting(provisioning.tenant_onboarding);
DROP FUNCTION provisioning._engine_paused(text);

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

CREATE OR REPLACE FUNCTION provisioning.provision_retry(tenant_id uuid, step text DEFAULT NULL) RETURNS jsonb
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

DROP FUNCTION provisioning._engine_outage_ended(text, timestamptz);
DROP FUNCTION provisioning._engine_outage_began(text, timestamptz);
ALTER EXTENSION provisioning DROP TABLE provisioning.engine_outages;
DROP TABLE provisioning.engine_outages;

----------------------------------------------------------------------------------------------------
-- Audit and stalled runs (issue 20), undone: the audit goes with its rows; the requests that
-- wrote it and the status document without stalled are 1.2's again (_retry_run, _step_record
-- and _status_doc come back with the sections below).
----------------------------------------------------------------------------------------------------

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

DROP FUNCTION provisioning._audit(text, uuid, uuid, text, text);
DROP FUNCTION provisioning._stalled(timestamptz);
-- leaving the extension first also takes it and its sequence off pg_dump's list (extconfig)
ALTER EXTENSION provisioning DROP TABLE provisioning.audit;
ALTER EXTENSION provisioning DROP SEQUENCE provisioning.audit_id_seq;
DROP TABLE provisioning.audit;

----------------------------------------------------------------------------------------------------
-- Cancelling a run (issue 20), undone. 1.2 knows no CANCELLED: a cancelled run is kept as FAILED
-- (its log keeps the "run cancelled" row; it has no error_kind, so 1.2's retry_due leaves it
-- alone, as 1.3's does), and a cancel its run worker has not acted on yet is dropped: that run
-- goes on to its end. 1.2's _step_record comes back with the state machine's, below.
----------------------------------------------------------------------------------------------------

UPDATE provisioning.tenant_onboarding SET status = 'FAILED' WHERE status = 'CANCELLED';
DROP FUNCTION provisioning.provision_cancel(uuid, text);
DROP FUNCTION provisioning._step_record(uuid, text, text, integer, text, double precision, jsonb, text, text, text);

DROP FUNCTION provisioning._queue_run(provisioning.tenants, jsonb, jsonb, jsonb, provisioning.tenant_onboarding, integer,
                                      text);
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
REVOKE ALL ON FUNCTION provisioning._queue_run(provisioning.tenants, jsonb, jsonb, jsonb, provisioning.tenant_onboarding,
                                               integer) FROM PUBLIC;

ALTER TABLE provisioning.tenant_onboarding DROP COLUMN cancel_reason, DROP COLUMN cancel_requested_at,
    DROP COLUMN prior_tenant_status, DROP CONSTRAINT tenant_onboarding_status_check,
    ADD CONSTRAINT tenant_onboarding_status_check
        CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED'));

----------------------------------------------------------------------------------------------------
-- Company names compared as the engine compares them (issue 17), undone: 1.2's rule (names equal
-- ignoring case, on any engine) and its definitions.
----------------------------------------------------------------------------------------------------

DROP TRIGGER engines_kind_changed ON provisioning.engines;
DROP FUNCTION provisioning._engine_kind_changed();
DROP TRIGGER tenants_company_checked ON provisioning.tenants;
DROP INDEX provisioning.tenants_engine_company_key;

CREATE OR REPLACE FUNCTION provisioning._company_taken(p_engine text, p_company text, p_tenant_id uuid) RETURNS void
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

CREATE OR REPLACE FUNCTION provisioning._tenant_company_checked() RETURNS trigger
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

-- Odoo tenants whose names differ only in case are one company under 1.2's rule: refused here.
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

ALTER TABLE provisioning.tenants DROP COLUMN company_key;
ALTER TABLE provisioning.engines DROP COLUMN max_concurrent_requests, DROP COLUMN requests_per_second;
DROP FUNCTION provisioning._companies_distinct(text);
DROP FUNCTION provisioning._company_comparison(text);
DROP FUNCTION provisioning._company_key(text, text);

REVOKE ALL ON FUNCTION provisioning._company_taken(text, text, uuid), provisioning._tenant_company_checked()
       FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- Operations as catalogs (issue 18), undone: one catalog per engine kind (FULL_POS's, of which a
-- BASIC run leaves out the "pos" steps), the run types named in a CHECK again. 1.2's
-- _initial_steps and _run_description come back with the engine boundary's below.
----------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION provisioning._check_settings(p_settings jsonb, what text) RETURNS void
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

DELETE FROM provisioning.step_catalog WHERE operation <> 'FULL_POS';
ALTER TABLE provisioning.step_catalog DROP CONSTRAINT step_catalog_pkey, DROP CONSTRAINT step_catalog_position_key,
    DROP COLUMN operation,
    ADD CONSTRAINT step_catalog_pkey PRIMARY KEY (engine_kind, step),
    ADD CONSTRAINT step_catalog_position_key UNIQUE (engine_kind, position);
ALTER TABLE provisioning.tenant_onboarding DROP CONSTRAINT tenant_onboarding_provisioning_type_fkey,
    ADD CONSTRAINT tenant_onboarding_provisioning_type_check CHECK (provisioning_type IN ('FULL_POS', 'BASIC'));
DROP TABLE provisioning.operations;

----------------------------------------------------------------------------------------------------
-- The engine boundary (issue 18), undone: the kinds named in CHECKs again, 1.2's definitions.
----------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION provisioning._workspace_url(engine_kind text, base_url text, metadata jsonb)
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

CREATE OR REPLACE FUNCTION provisioning._run_description(r provisioning.tenant_onboarding) RETURNS jsonb
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

-- 1.2 knows two kinds: another kind's rows go (a test-only kind's, say); an engine of one
-- keeps the downgrade from happening.
DO $$
DECLARE
    other provisioning.engines;
BEGIN
    SELECT * INTO other FROM provisioning.engines WHERE kind NOT IN ('erpnext', 'odoo') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'engine "%" is of kind "%", which version 1.2 does not know', other.name, other.kind
            USING ERRCODE = '55000',
                  HINT = 'Delete the engine, or change its kind to erpnext or odoo, before the downgrade.';
    END IF;
END
$$;
DELETE FROM provisioning.step_catalog WHERE engine_kind NOT IN ('erpnext', 'odoo');
DELETE FROM provisioning.engine_kinds WHERE kind NOT IN ('erpnext', 'odoo');
ALTER TABLE provisioning.engines DROP CONSTRAINT engines_kind_fkey,
    ADD CONSTRAINT engines_kind_check CHECK (kind IN ('erpnext', 'odoo'));
ALTER TABLE provisioning.engine_kinds DROP COLUMN company_names,
    ADD CONSTRAINT engine_kinds_kind_check CHECK (kind IN ('erpnext', 'odoo'));
DROP FUNCTION provisioning._driver_catalog();
DROP FUNCTION provisioning._driver_kinds();

----------------------------------------------------------------------------------------------------
-- Trust (issue 17), undone.
----------------------------------------------------------------------------------------------------

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

-- leaving the extension first also takes it off pg_dump's list (extconfig)
ALTER EXTENSION provisioning DROP TABLE provisioning.unsettled_creates;
DROP TABLE provisioning.unsettled_creates;

CREATE FUNCTION provisioning._engine_credentials_given() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM set_config('provisioning_engines.given_' || TG_ARGV[0], NEW.name, true);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION provisioning._engine_checked() RETURNS trigger
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
REVOKE ALL ON FUNCTION provisioning._engine_credentials_given() FROM PUBLIC;

----------------------------------------------------------------------------------------------------
-- One state machine (issue 18), undone: 1.2's definitions spell the rules out again.
----------------------------------------------------------------------------------------------------

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

CREATE OR REPLACE FUNCTION provisioning._progress(done bigint, total bigint, run_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS
$$
    SELECT CASE WHEN run_status = 'COMPLETED' THEN 100
                ELSE least(99, (100 * done) / greatest(total, 1))::integer END
$$;

CREATE OR REPLACE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text,
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

REVOKE ALL ON FUNCTION provisioning._step_record(uuid, text, text, integer, text, double precision, jsonb, text,
                                                 text, text) FROM PUBLIC;

DROP FUNCTION provisioning._tenant_status_of_run(text, text, text);
DROP FUNCTION provisioning._step_is_done(text);
