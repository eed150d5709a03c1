-- The lifecycle operations of a provisioned tenant (spec section 12): VERIFY, SUSPEND, RESUME
-- and OFFBOARD. Each is a run like provisioning, of its own step catalog per engine kind, and
-- shares its rules: one active run per tenant, the statuses it starts from, who may ask
-- (provisioning.operations, _check_operation), the tenant status it leaves (the state
-- machine's, src/run_state.c). EXECUTE: privileges.sql.

-- Queues a run of lifecycle operation p_operation for tenant t, audited with p_reason, and
-- returns its status document. Its settings are those of the tenant's latest provisioning
-- run (what the engine holds was made with them); its metadata is the latest run's, which
-- carries every earlier run's over: the references the steps act on. A VERIFY run skips the
-- steps that provisioning skipped or did not have: nothing was made to be found.
CREATE FUNCTION provisioning._queue_operation(t provisioning.tenants, p_operation text, p_reason text)
    RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    base  provisioning.tenant_onboarding := provisioning._latest_provisioning(t.id);
    steps jsonb;
    r     provisioning.tenant_onboarding;
BEGIN
    IF length(p_reason) > 500 THEN
        RAISE EXCEPTION 'reason must be at most 500 characters'
            USING ERRCODE = '22023', HINT = 'Give a shorter reason; the audit keeps it.';
    END IF;
    IF p_operation = 'VERIFY' AND base.id IS NOT NULL THEN
        SELECT jsonb_agg(CASE WHEN e->>'status' = 'pending' AND coalesce(b.status, 'skipped') = 'skipped'
                              THEN e || jsonb_build_object('status', 'skipped',
                                                           'message', 'the provisioning did not make it: '
                                                                      || coalesce(b.message, 'not one of its steps'))
                              ELSE e END ORDER BY n)
          INTO steps
          FROM jsonb_array_elements(provisioning._initial_steps(
                   provisioning._run_config(t, base.options) || '{"provisioning_type": "VERIFY"}'))
               WITH ORDINALITY AS x(e, n)
          LEFT JOIN LATERAL (SELECT p->>'status' AS status, p->>'message' AS message
                               FROM jsonb_array_elements(base.provisioning_steps) p
                              WHERE p->>'step' = e->>'step') b ON true;
    END IF;
    r := provisioning._queue_run(t, coalesce(base.options, '{}'), steps,
                                 coalesce((provisioning._latest_run(t.id)).provisioning_metadata, '{}'),
                                 NULL, 0, p_operation);
    PERFORM provisioning._audit(lower(p_operation), t.id, r.id, p_reason);
    RETURN provisioning._status_doc(r, provisioning._tenant_status_of_run(r.status, r.prior_tenant_status,
                                                                          r.provisioning_type));
END
$$;

-- Reads back what the tenant's provisioning recorded, step by step, writing nothing: found as
-- recorded, a step reports exists; missing or changed, failed with what differs. The run ends
-- COMPLETED when everything was found, else FAILED; the tenant's status stays as it is.
-- provision_start (or provision_retry) afterwards repairs what is missing. Members and admins.
CREATE FUNCTION provisioning.provision_verify(tenant_id uuid) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN provisioning._queue_operation(provisioning._authorize(tenant_id), 'VERIFY', NULL);
END
$$;

-- Suspends a provisioned tenant: its open point-of-sale session is closed and its point of
-- sale disabled; nothing else changes in the engine. Tenant status SUSPENDED once done.
-- Admins only.
CREATE FUNCTION provisioning.provision_suspend(tenant_id uuid, reason text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._require_admin();
    RETURN provisioning._queue_operation(provisioning._authorize(tenant_id), 'SUSPEND', reason);
END
$$;

-- Resumes a suspended or offboarded tenant: its point of sale enabled again and a new session
-- opened on it. Tenant status PROVISIONED once done. Admins only.
CREATE FUNCTION provisioning.provision_resume(tenant_id uuid) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._require_admin();
    RETURN provisioning._queue_operation(provisioning._authorize(tenant_id), 'RESUME', NULL);
END
$$;

-- Offboards a tenant: its point of sale closed, every document of its company exported into
-- provisioning.tenant_exports, what is the tenant's alone archived; nothing is deleted.
-- Tenant status OFFBOARDED once done. Admins only.
CREATE FUNCTION provisioning.provision_offboard(tenant_id uuid, reason text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._require_admin();
    RETURN provisioning._queue_operation(provisioning._authorize(tenant_id), 'OFFBOARD', reason);
END
$$;
