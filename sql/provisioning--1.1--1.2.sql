-- provisioning 1.1 -> 1.2.
-- Each section below names what it is for; provisioning--1.2--1.1.sql undoes them in
-- reverse order and keeps every user row.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.2'" to load this file. \quit

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
-- the run ended. Ids, statuses and progress only: never a message or a secret.
CREATE FUNCTION provisioning._run_notify() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    doc     jsonb := provisioning._status_doc(NEW, NULL, NULL, NULL);
    base    jsonb := jsonb_build_object('tenant_id', NEW.tenant_id, 'run_id', NEW.id, 'status', NEW.status,
                                        'progress', doc->'progress', 'current_step', doc->'current_step');
    changed record;
    sent    boolean := false;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        FOR changed IN
            SELECT n.e->>'step' AS step, n.e->>'status' AS status
              FROM jsonb_array_elements(NEW.provisioning_steps) WITH ORDINALITY n(e, i)
              LEFT JOIN jsonb_array_elements(OLD.provisioning_steps) WITH ORDINALITY o(e, i) ON o.i = n.i
             WHERE (o.e->>'status') IS DISTINCT FROM (n.e->>'status')
             ORDER BY n.i
        LOOP
            PERFORM pg_catalog.pg_notify('provisioning',
                (base || jsonb_build_object('step', changed.step, 'step_status', changed.status))::text);
            sent := true;
        END LOOP;
    END IF;
    IF NOT sent AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        PERFORM pg_catalog.pg_notify('provisioning',
            (base || jsonb_build_object('step', NULL, 'step_status', NULL))::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenant_onboarding_notify
    AFTER INSERT OR UPDATE OF status, provisioning_steps ON provisioning.tenant_onboarding
    FOR EACH ROW EXECUTE FUNCTION provisioning._run_notify();

REVOKE ALL ON FUNCTION provisioning._workspace_url(text, text, jsonb),
                       provisioning._status_doc(provisioning.tenant_onboarding, text, text, text),
                       provisioning._run_notify()
      FROM PUBLIC;
