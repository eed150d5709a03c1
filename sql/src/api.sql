-- The SQL API (spec section 3): SECURITY DEFINER functions with a fixed search_path, each
-- checking its caller first (_authorize). EXECUTE for provisioning_admin and
-- provisioning_user (privileges.sql). engine_health is in health.sql, the scheduled
-- retries in retry.sql.

-- Queues a run of a tenant. Options that name things in the engine are an admin's to set: a
-- member naming another tenant's company would act on it. References to what the engine
-- already holds (the latest run's metadata) carry over; every step re-checks them, so after
-- a VERIFY run that found something missing this repairs it: it creates what is missing and
-- reports "exists" for the rest. A suspended or offboarded tenant is resumed, not provisioned
-- (_check_operation).
CREATE FUNCTION provisioning.provision_start(tenant_id uuid, options jsonb DEFAULT '{}')
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
    PERFORM provisioning._audit('start', t.id, r.id);
    RETURN provisioning._status_doc(r, provisioning._tenant_status_of_run(r.status, r.prior_tenant_status,
                                                                          r.provisioning_type));
END
$$;

-- The status document of the tenant's latest run: the run and its engine in one query.
CREATE FUNCTION provisioning.provision_status(tenant_id uuid) RETURNS jsonb
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
                                        'started_at', NULL, 'finished_at', NULL, 'stalled', false,
                                        'waiting', NULL)
                ELSE provisioning._status_doc(latest.run, t.provisioning_status, e.kind, e.base_url) END
      INTO doc
      FROM (SELECT) one
      LEFT JOIN provisioning.engines e ON e.name = t.engine
      LEFT JOIN LATERAL (SELECT o AS run FROM provisioning.tenant_onboarding o
                          WHERE o.tenant_id = t.id ORDER BY o.created_at DESC LIMIT 1) latest ON true;
    RETURN doc;
END
$$;

-- The tenant's run log, oldest first.
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

-- A new run of the tenant's latest run, from p_step (by default the first step not done); after
-- a VERIFY run, the repair of what it found missing (_retry_run). Retrying a lifecycle run is
-- its operation's: an admin's, from a status it starts from (_check_operation).
CREATE FUNCTION provisioning.provision_retry(tenant_id uuid, step text DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t     provisioning.tenants := provisioning._authorize(tenant_id);
    prior provisioning.tenant_onboarding := provisioning._latest_run(t.id);
    r     provisioning.tenant_onboarding;
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
    r := provisioning._retry_run(t, prior, step, 0);
    PERFORM provisioning._audit('retry', t.id, r.id);
    RETURN provisioning._status_doc(r, provisioning._tenant_status_of_run(r.status, r.prior_tenant_status,
                                                                          r.provisioning_type));
END
$$;

-- Cancels the tenant's queued or running run and returns the status document. A queued run
-- has no worker: it ends CANCELLED here, at once. A running run is its run worker's to write:
-- this only records the request, which the worker's next step boundary reads (_step_record);
-- it starts nothing more, waits for the requests already sent and ends the run CANCELLED.
-- The row's lock orders this against the worker: a claim (_run_begin) that comes after a
-- queued run's cancel finds it no longer runnable, one that came before is a running run's.
-- Either way the tenant goes back to its status before the run. With no run queued or
-- running, the status document as it is.
CREATE FUNCTION provisioning.provision_cancel(tenant_id uuid, reason text DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t provisioning.tenants := provisioning._authorize(tenant_id);
    r provisioning.tenant_onboarding;
BEGIN
    IF length(reason) > 500 THEN
        RAISE EXCEPTION 'reason must be at most 500 characters'
            USING ERRCODE = '22023', HINT = 'Give a shorter reason; the run log keeps it.';
    END IF;
    SELECT * INTO r FROM provisioning.tenant_onboarding o
     WHERE o.tenant_id = t.id AND o.status IN ('PENDING', 'IN_PROGRESS')
       FOR UPDATE;
    IF FOUND THEN
        -- a second cancel keeps the first one's time and reason, and changes nothing to audit
        IF r.cancel_requested_at IS NULL THEN
            PERFORM provisioning._audit('cancel', t.id, r.id, reason);
        END IF;
        UPDATE provisioning.tenant_onboarding
           SET cancel_requested_at = coalesce(cancel_requested_at, clock_timestamp()),
               cancel_reason = CASE WHEN cancel_requested_at IS NULL THEN reason ELSE cancel_reason END
         WHERE id = r.id;
        IF r.status = 'PENDING' THEN
            PERFORM provisioning._step_record(r.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'CANCELLED', NULL);
        END IF;
    END IF;
    RETURN provisioning.provision_status(t.id);
END
$$;
