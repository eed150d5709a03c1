-- The worker side: called by the background workers only (no grants), by name and
-- signature from the C code (src/run.c, src/launcher.c) - keep both.

-- What a worker needs to execute a run (credentials included): its operation, settings,
-- steps, metadata, engine, why a critical step failed (error_kind, set before the run's end
-- while other steps still run), whether a cancel was requested, and each step's dependencies (depends_on: step -> the steps
-- it waits for, from the step catalog of the run's engine kind and operation). PL/pgSQL, not SQL: a SQL function with a SET clause
-- is planned again in every transaction (0.3 ms of every run's start), PL/pgSQL keeps its plan.
CREATE FUNCTION provisioning._run_description(r provisioning.tenant_onboarding) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN jsonb_build_object(
        'correlation_id', r.correlation_id, 'operation', r.provisioning_type, 'config', r.provisioning_config,
        'tenant_id', r.tenant_id, 'started_at', extract(epoch FROM r.started_at),
        'queued_ms', extract(epoch FROM r.started_at - r.created_at) * 1000,
        'steps', r.provisioning_steps, 'metadata', r.provisioning_metadata, 'error_kind', r.error_kind,
        'cancel_requested', r.cancel_requested_at IS NOT NULL,
        'depends_on', (SELECT coalesce(jsonb_object_agg(c.step, c.depends_on), '{}')
                         FROM provisioning.step_catalog c
                        WHERE c.engine_kind = r.provisioning_config->>'engine_kind'
                          AND c.operation = r.provisioning_type),
        'engine', (SELECT jsonb_build_object('name', e.name, 'kind', e.kind, 'base_url', e.base_url,
                                             'api_key', e.api_key, 'api_secret', e.api_secret,
                                             'options', e.options,
                                             'max_concurrent_requests', e.max_concurrent_requests,
                                             'requests_per_second', e.requests_per_second)
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

-- Marks a queued or interrupted run IN_PROGRESS and returns its description, or NULL when
-- the run is no longer runnable. claimed_at is the crash-loop guard's clock, and resumed
-- tells the worker that requests of an earlier execution may still be in the engine, of any
-- step (a promoted standby never saw the old primary's last steps start): it then creates
-- nothing it does not find until provisioning.write_settle_ms has passed.
CREATE FUNCTION provisioning._run_begin(p_run_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r       provisioning.tenant_onboarding;
    resumed boolean;
    running text;
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
    -- PROVISIONING for a provisioning run; a lifecycle run leaves the tenant's status as it was
    running := provisioning._tenant_status_of_run('IN_PROGRESS', coalesce(r.prior_tenant_status, 'NOT_PROVISIONED'),
                                                  r.provisioning_type);
    UPDATE provisioning.tenants SET provisioning_status = running
     WHERE id = r.tenant_id AND provisioning_status <> running;
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message)
    VALUES (r.tenant_id, r.id, r.correlation_id, 'IN_PROGRESS',
            CASE WHEN resumed THEN 'run resumed' ELSE 'run started' END);
    RETURN provisioning._run_description(r) || jsonb_build_object('resumed', resumed);
END
$$;

-- Records a step boundary in one transaction: the outcome of p_step (status completed,
-- exists, skipped, failed, or retrying while it is retried: when, kept as the step's
-- retried_at, is progress to the status document's stalled), the start of p_next_step,
-- the metadata set since the last boundary (merged into the run's), and, with p_run_status,
-- the end of the run. Only the run's run worker calls it (and provision_cancel, for the end
-- of a run still queued, which no worker has). A critical step's failure keeps its kind
-- (p_error_kind) in error_kind until the run ends: a resumed run ends as it would have.
-- Returns whether a cancel was requested (provision_cancel), read under the row's lock: then
-- no step starts but one left running by an interrupted execution (executed again to learn
-- its outcome), and a run ending CANCELLED gives every step still marked running (started,
-- never executed) back to pending, and the tenant its status before the run.
CREATE FUNCTION provisioning._step_record(p_run_id uuid, p_step text, p_status text, p_attempts integer,
                                          p_message text, p_duration_ms double precision,
                                          p_metadata jsonb, p_next_step text,
                                          p_run_status text, p_error_kind text)
    RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r      provisioning.tenant_onboarding;
    now_   timestamptz := clock_timestamp();
    steps  jsonb;
    i      integer;
    fail   jsonb;
    stops  boolean := false;
    cancel boolean;
    provisions boolean;
BEGIN
    SELECT * INTO STRICT r FROM provisioning.tenant_onboarding WHERE id = p_run_id FOR UPDATE;
    cancel := r.cancel_requested_at IS NOT NULL;
    steps := r.provisioning_steps;
    IF p_step IS NOT NULL THEN
        SELECT n - 1 INTO STRICT i FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'step' = p_step;
        stops := p_status = 'failed' AND coalesce((steps->i->>'critical')::boolean, true);
        steps := jsonb_set(steps, ARRAY[i::text], steps->i || jsonb_build_object(
                     'status', CASE WHEN p_status = 'retrying' THEN 'running' ELSE p_status END,
                     'attempts', p_attempts, 'message', p_message)
                 || CASE WHEN p_status = 'retrying' THEN jsonb_build_object('retried_at', now_)
                         ELSE jsonb_build_object('finished_at', now_, 'duration_ms', p_duration_ms) END);
        INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, step, status, message, duration_ms)
        VALUES (r.tenant_id, r.id, r.correlation_id, p_step, p_status, p_message,
                CASE WHEN p_status <> 'retrying' THEN p_duration_ms END);
    END IF;
    IF p_next_step IS NOT NULL THEN
        SELECT n - 1 INTO STRICT i FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'step' = p_next_step;
    END IF;
    IF p_next_step IS NOT NULL AND (NOT cancel OR steps->i->>'status' = 'running') THEN
        steps := jsonb_set(steps, ARRAY[i::text], steps->i || jsonb_build_object(
                     'status', 'running', 'attempts', (steps->i->>'attempts')::integer + 1,
                     'started_at', now_, 'finished_at', NULL, 'duration_ms', NULL, 'message', NULL));
    END IF;
    IF p_run_status IS NULL THEN
        UPDATE provisioning.tenant_onboarding
           SET provisioning_steps = steps,
               provisioning_metadata = provisioning_metadata || coalesce(p_metadata, '{}'),
               error_kind = CASE WHEN stops THEN coalesce(error_kind, p_error_kind) ELSE error_kind END
         WHERE id = p_run_id;
        RETURN cancel;
    END IF;
    IF p_run_status = 'CANCELLED' THEN
        SELECT jsonb_agg(CASE WHEN e->>'status' = 'running'
                              THEN e || '{"status": "pending", "started_at": null}' ELSE e END ORDER BY n)
          INTO steps
          FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n);
    END IF;
    -- The run ends: the first failed step names the error.
    SELECT e INTO fail FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(e, n)
     WHERE e->>'status' = 'failed' ORDER BY n LIMIT 1;
    UPDATE provisioning.tenant_onboarding
       SET provisioning_steps = steps, provisioning_metadata = provisioning_metadata || coalesce(p_metadata, '{}'),
           status = p_run_status, finished_at = now_, error_step = fail->>'step',
           error_kind = CASE WHEN p_run_status IN ('FAILED', 'NOT_PROVISIONED') THEN p_error_kind END
     WHERE id = p_run_id;
    -- a lifecycle run changes the tenant's status only (the state machine's), never when or how
    -- it was provisioned
    SELECT o.provisions INTO provisions FROM provisioning.operations o WHERE o.operation = r.provisioning_type;
    UPDATE provisioning.tenants
       SET provisioning_status = provisioning._tenant_status_of_run(p_run_status, r.prior_tenant_status,
                                                                    r.provisioning_type),
           provisioned_at = CASE WHEN provisions AND p_run_status IN ('COMPLETED', 'PARTIAL') THEN now_
                                 ELSE provisioned_at END,
           provisioning_error = CASE WHEN NOT provisions THEN provisioning_error
                                     WHEN fail IS NULL THEN NULL
                                     ELSE format('%s: %s', fail->>'step', fail->>'message') END
     WHERE id = r.tenant_id;
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message, duration_ms)
    VALUES (r.tenant_id, r.id, r.correlation_id, p_run_status,
            CASE WHEN p_run_status = 'CANCELLED' THEN 'run cancelled' || coalesce(': ' || r.cancel_reason, '')
                 WHEN fail IS NULL THEN 'run finished'
                 ELSE format('run finished; %s failed: %s', fail->>'step', fail->>'message') END,
            extract(epoch FROM now_ - r.started_at) * 1000);
    RETURN cancel;
END
$$;

-- Deletes finished runs (and their log rows) older than provisioning.history_retention,
-- keeping every tenant's latest run, in batches of short transactions' size. The launcher
-- calls it every few minutes; admins may too. Returns the number of runs deleted.
-- Set-based: a run is old history when it finished before the retention and its tenant has
-- a later run (the tenant_onboarding_tenant_created_idx answers that per row).
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
                       AND EXISTS (SELECT FROM provisioning.tenant_onboarding y
                                    WHERE y.tenant_id = x.tenant_id AND y.created_at > x.created_at)
                     LIMIT batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;
