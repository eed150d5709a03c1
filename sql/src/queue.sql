-- Queueing a run: its settings, its initial step list, the row in tenant_onboarding, and
-- the wake-up of the launcher at commit. Inserting a tenant queues its first run.

-- Wakes the launcher when the calling transaction commits; fails without the preload.
CREATE FUNCTION provisioning._wake() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_wake';

-- Whether the workers run for this database (the library is preloaded and this is
-- provisioning.database_name).
CREATE FUNCTION provisioning._workers_serve_here() RETURNS boolean
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'provisioning_workers_serve_here';

-- Checks a settings or options object: known keys, right JSON types, an operation for
-- provisioning_type. what = 'setting' | 'option'.
CREATE FUNCTION provisioning._check_settings(p_settings jsonb, what text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
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
    -- a lifecycle operation is no way to provision: each has a function of its own
    IF p_settings ? 'provisioning_type' AND NOT EXISTS (SELECT FROM provisioning.operations o
                                                        WHERE o.operation = p_settings->>'provisioning_type'
                                                          AND o.provisions) THEN
        RAISE EXCEPTION '% "provisioning_type" must be %', what,
                        (SELECT string_agg(o.operation, ' or ' ORDER BY o.position)
                           FROM provisioning.operations o WHERE o.provisions)
            USING ERRCODE = '22023',
                  HINT = CASE WHEN EXISTS (SELECT FROM provisioning.operations o
                                            WHERE o.operation = p_settings->>'provisioning_type')
                              THEN format('Call provision_%s() for a %s run.', lower(p_settings->>'provisioning_type'),
                                          p_settings->>'provisioning_type')
                              ELSE 'Leave it out for FULL_POS.' END;
    END IF;
END
$$;

-- The settings a run uses: the kind's defaults, then the tenant's settings, then this run's
-- options; engine_kind says which catalog the run's steps come from.
CREATE FUNCTION provisioning._run_config(t provisioning.tenants, options jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    -- a tenant without an engine gets some kind's steps: its run fails at the first one
    engine_kind text := coalesce((SELECT e.kind FROM provisioning.engines e WHERE e.name = t.engine),
                                 (SELECT min(k.kind) FROM provisioning.engine_kinds k));
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

-- A fresh step list for a run: every step of the engine kind's catalog for the run's
-- operation (provisioning_type), skipped where its condition does not hold, with the reason.
CREATE FUNCTION provisioning._initial_steps(config jsonb) RETURNS jsonb
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
     WHERE c.engine_kind = config->>'engine_kind' AND c.operation = config->>'provisioning_type'
$$;

-- The tenant's latest provisioning run (of an operation that provisions; NULL fields when it
-- has none): what a lifecycle run acts on was made with its settings.
CREATE FUNCTION provisioning._latest_provisioning(p_tenant_id uuid) RETURNS provisioning.tenant_onboarding
    LANGUAGE sql STABLE AS
$$
    SELECT o.* FROM provisioning.tenant_onboarding o JOIN provisioning.operations op ON op.operation = o.provisioning_type
     WHERE o.tenant_id = p_tenant_id AND op.provisions ORDER BY o.created_at DESC LIMIT 1
$$;

-- May a run of p_operation be queued for tenant t now? Returns the tenant as it is under its
-- row's lock, which a run's end takes too (_step_record), so its status cannot change before
-- the run is queued. Refuses a member an admin's operation (42501, as _require_admin), a
-- tenant with a run queued or in progress, or in a status the operation does not start from
-- (PT409, naming the status).
CREATE FUNCTION provisioning._check_operation(t provisioning.tenants, p_operation text)
    RETURNS provisioning.tenants
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    op provisioning.operations;
BEGIN
    SELECT * INTO STRICT op FROM provisioning.operations o WHERE o.operation = p_operation;
    IF op.admin_only THEN
        PERFORM provisioning._require_admin();
    END IF;
    SELECT * INTO STRICT t FROM provisioning.tenants x WHERE x.id = t.id FOR UPDATE;
    IF EXISTS (SELECT FROM provisioning.tenant_onboarding o
                WHERE o.tenant_id = t.id AND o.status IN ('PENDING', 'IN_PROGRESS')) THEN
        RAISE EXCEPTION 'a provisioning run is already queued or in progress for tenant %', t.id
            USING ERRCODE = 'PT409',
                  HINT = 'Wait for it to finish; provision_status() shows its progress.';
    END IF;
    IF NOT t.provisioning_status = ANY (op.allowed_from) THEN
        RAISE EXCEPTION 'tenant % is %: a % run cannot start from that status', t.id, t.provisioning_status, p_operation
            USING ERRCODE = 'PT409',
                  DETAIL = format('%s starts from a tenant that is %s.', p_operation,
                                  array_to_string(op.allowed_from, ', ')),
                  HINT = CASE t.provisioning_status
                             WHEN 'SUSPENDED' THEN 'Resume it first with provision_resume().'
                             WHEN 'OFFBOARDED' THEN 'Resume it first with provision_resume().'
                             WHEN 'NOT_PROVISIONED' THEN 'Provision it first with provision_start().'
                             ELSE 'provision_status() shows how its latest run ended.'
                         END;
    END IF;
    RETURN t;
END
$$;

-- The tenant's latest run (NULL fields when it has none).
CREATE FUNCTION provisioning._latest_run(p_tenant_id uuid) RETURNS provisioning.tenant_onboarding
    LANGUAGE sql STABLE AS
$$
    SELECT * FROM provisioning.tenant_onboarding o
     WHERE o.tenant_id = p_tenant_id ORDER BY o.created_at DESC LIMIT 1
$$;

-- Inserts a queued run, logs it, marks the tenant and wakes the launcher at commit. Checks
-- the company the run resolves to (options may name another one) and that the operation may
-- start (_check_operation). The tenant's status before the run is kept with it: a cancelled
-- run gives it back, a lifecycle run keeps it while it runs. p_operation is the run's
-- provisioning_type when given (a lifecycle run, a retry), else the settings' and options'.
CREATE FUNCTION provisioning._queue_run(t provisioning.tenants, options jsonb, steps jsonb,
                                        metadata jsonb, prior provisioning.tenant_onboarding,
                                        attempt integer, p_operation text DEFAULT NULL)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    config jsonb := provisioning._run_config(t, options)
                    || CASE WHEN p_operation IS NOT NULL
                            THEN jsonb_build_object('provisioning_type', p_operation) ELSE '{}' END;
    r      provisioning.tenant_onboarding;
BEGIN
    IF t.engine IS NULL THEN
        RAISE EXCEPTION 'tenant % has no engine', t.id
            USING ERRCODE = '22023', HINT = 'Set provisioning.tenants.engine to one of provisioning.engines.';
    END IF;
    t := provisioning._check_operation(t, config->>'provisioning_type');
    IF steps IS NULL THEN
        steps := provisioning._initial_steps(config);
    END IF;
    IF steps IS NULL THEN
        RAISE EXCEPTION 'engines of kind % have no % operation', config->>'engine_kind', config->>'provisioning_type'
            USING ERRCODE = '0A000',
                  DETAIL = 'The kind''s driver declares no step catalog for it (provisioning.step_catalog).';
    END IF;
    PERFORM provisioning._company_taken(t.engine, config->>'company_name', t.id);
    PERFORM provisioning._wake();
    BEGIN
        INSERT INTO provisioning.tenant_onboarding
               (tenant_id, provisioning_type, provisioning_config, provisioning_steps,
                provisioning_metadata, options, retry_of, retry_attempt, prior_tenant_status)
        VALUES (t.id, config->>'provisioning_type', config, steps, metadata, options, prior.id, attempt,
                t.provisioning_status)
        RETURNING * INTO r;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a provisioning run is already queued or in progress for tenant %', t.id
            USING ERRCODE = 'PT409',
                  HINT = 'Wait for it to finish; provision_status() shows its progress.';
    END;
    UPDATE provisioning.tenants
       SET provisioning_status = provisioning._tenant_status_of_run('PENDING', t.provisioning_status,
                                                                    r.provisioning_type),
           provisioning_error = CASE WHEN (SELECT o.provisions FROM provisioning.operations o
                                            WHERE o.operation = r.provisioning_type)
                                     THEN NULL ELSE provisioning_error END
     WHERE id = t.id;
    INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message)
    VALUES (t.id, r.id, r.correlation_id, 'PENDING',
            CASE WHEN prior.id IS NULL THEN 'run queued'
                 ELSE format('retry of run %s queued (attempt %s)', prior.id, attempt) END);
    RETURN r;
END
$$;

-- Starting provisioning when a tenant is inserted. A restore (pg_dump's scripts and
-- pg_restore run with row_security off) brings tenants back as they were: it queues nothing,
-- whatever their status; rows inserted with a provisioning status are left alone too. Where
-- no worker would run it (no preload, another database: a restore into a scratch database),
-- the trigger only warns, so the insert or the restore goes through.
CREATE FUNCTION provisioning._tenant_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r provisioning.tenant_onboarding;
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
    r := provisioning._queue_run(NEW, '{}', NULL, '{}', NULL, 0);
    PERFORM provisioning._audit('auto_start', NEW.id, r.id, NULL, 'trigger');
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_start_provisioning
    AFTER INSERT ON provisioning.tenants
    FOR EACH ROW EXECUTE FUNCTION provisioning._tenant_inserted();
