-- Retries: a new run that carries over the steps already done, by hand (provision_retry,
-- api.sql) or on a schedule (retry_due through pg_cron).

-- A new run of the tenant's latest run, starting at p_step; the steps before it are carried
-- over, not re-run. The settings are resolved again (the tenant's settings may have been
-- fixed since) with the options and operation of the earlier run; its steps are those of the
-- earlier run's engine kind and operation. By default it starts at the first step not done, failed or
-- never started: steps run at once, so a critical step may fail while an earlier one was
-- still pending (starting at the first failed one would be refused, and retry_due would skip
-- such a tenant for good). A VERIFY run is retried as the repair of what it found missing:
-- a run of the tenant's provisioning operation (its latest provisioning run's, with its
-- options) from the first step the verify did not find, the steps the verify found carried
-- over as found; each step it runs creates only what is missing.
CREATE FUNCTION provisioning._retry_run(t provisioning.tenants, prior provisioning.tenant_onboarding,
                                        p_step text, attempt integer)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    options   jsonb := prior.options;
    op        text := prior.provisioning_type;
    kind      text := prior.provisioning_config->>'engine_kind';
    base      provisioning.tenant_onboarding;
    start_pos integer;
    blocker   text;
    steps     jsonb;
BEGIN
    IF op = 'VERIFY' THEN
        base := provisioning._latest_provisioning(t.id);
        options := coalesce(base.options, '{}');
        op := coalesce(base.provisioning_type, 'FULL_POS');
    END IF;
    IF p_step IS NULL THEN
        SELECT e->>'step' INTO p_step
          FROM jsonb_array_elements(prior.provisioning_steps) WITH ORDINALITY AS x(e, n)
         WHERE NOT provisioning._step_is_done(e->>'status') ORDER BY n LIMIT 1;
        IF p_step IS NULL THEN
            RAISE EXCEPTION 'run % of tenant % has no failed step', prior.id, t.id
                USING ERRCODE = '22023',
                      HINT = 'Pass the step to start from, or call provision_start for a new full run.';
        END IF;
    END IF;
    SELECT c.position INTO start_pos FROM provisioning.step_catalog c
     WHERE c.engine_kind = kind AND c.operation = op AND c.step = p_step;
    -- a step of another operation is not unknown: the run's operation has no such step
    IF NOT FOUND AND NOT EXISTS (SELECT FROM provisioning.step_catalog c
                                  WHERE c.engine_kind = kind AND c.step = p_step) THEN
        RAISE EXCEPTION 'unknown step "%"', p_step
            USING ERRCODE = '22023',
                  HINT = 'Steps: ' || (SELECT string_agg(c.step, ', ' ORDER BY c.position)
                                         FROM provisioning.step_catalog c
                                        WHERE c.engine_kind = kind AND c.operation = op) || '.';
    END IF;
    IF start_pos IS NULL
       OR NOT EXISTS (SELECT FROM jsonb_array_elements(prior.provisioning_steps) e WHERE e->>'step' = p_step) THEN
        RAISE EXCEPTION 'step "%" is not part of a % run', p_step, op
            USING ERRCODE = '22023';
    END IF;
    SELECT e->>'step' INTO blocker
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.operation = op AND c.step = e->>'step'
     WHERE c.position < start_pos AND c.critical
       AND NOT provisioning._step_is_done(e->>'status')
     ORDER BY c.position LIMIT 1;
    IF blocker IS NOT NULL THEN
        RAISE EXCEPTION 'cannot start at "%": the earlier step "%" has not succeeded', p_step, blocker
            USING ERRCODE = '22023', HINT = format('Retry from %s.', blocker);
    END IF;
    -- Earlier steps keep their outcome; the rest start afresh.
    SELECT jsonb_agg(CASE WHEN c.position < start_pos THEN e ELSE f END ORDER BY c.position) INTO steps
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.operation = op AND c.step = e->>'step'
      JOIN jsonb_array_elements(provisioning._initial_steps(provisioning._run_config(t, options)
                                                            || jsonb_build_object('provisioning_type', op))) f
        ON f->>'step' = e->>'step';
    -- (the caller writes the audit row: who asked is its to say)
    RETURN provisioning._queue_run(t, options, steps, prior.provisioning_metadata, prior, attempt, op);
END
$$;

-- Restarts runs that ended FAILED for a transient cause or NOT_PROVISIONED, with
-- exponential backoff: provisioning.retry_base_delay * 2^attempt seconds, at most
-- provisioning.retry_max_delay, at most provisioning.retry_max_attempts times. Each tenant
-- is retried on its own: one with bad settings or no engine is reported and skipped. The
-- delay's exponent is capped before it is computed, so it cannot overflow.
CREATE FUNCTION provisioning.retry_due() RETURNS integer
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
           -- a failed lifecycle run is an admin's to retry
           AND (SELECT o.provisions FROM provisioning.operations o WHERE o.operation = r.provisioning_type)
           AND r.retry_attempt < max_attempts
           AND r.finished_at + make_interval(secs => least(max_s, base_s * 2 ^ least(r.retry_attempt, 60)))
               <= clock_timestamp()
         FOR UPDATE OF t SKIP LOCKED
    LOOP
        BEGIN
            PERFORM provisioning._audit('scheduled_retry', (due.t).id,
                                        (provisioning._retry_run(due.t, due.r, NULL, (due.r).retry_attempt + 1)).id,
                                        NULL, 'retry_due');
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

-- Schedules retry_due() with pg_cron, in this database.
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
