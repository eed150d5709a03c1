-- provisioning 1.2 -> 1.1: the rollback of 1.2. Undoes provisioning--1.1--1.2.sql section
-- by section, in reverse order; every user row is kept.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.1'" to load this file. \quit

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
