-- The status document of a run (spec section 4) and the vocabulary of statuses.

-- The status vocabulary the C code works with (status.h), for a test to hold against the
-- tables' check constraints and the SQL that writes statuses.
CREATE FUNCTION provisioning._vocabulary() RETURNS jsonb
    LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'provisioning_vocabulary';

-- Where a user enters a provisioned workspace: base_url without its query, fragment and
-- trailing slashes, then the path the engine kind's driver gives for the run's metadata (its
-- point-of-sale page once the run made one, else the engine's home page). base_url holds no
-- user info (engines' CHECK).
CREATE FUNCTION provisioning._workspace_url(engine_kind text, base_url text, metadata jsonb)
    RETURNS text
    LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'provisioning_workspace_url';

-- The state machine's rules (src/run_state.c), which the workers and the NOTIFY trigger use
-- too, so each exists once: is a step done (completed, exists or skipped), the tenant status
-- a run of an operation shows and leaves (before: the tenant's status when it was queued,
-- which a cancelled run gives back, and a lifecycle run keeps unless it completes), a run's
-- progress in percent (its done steps of all, 100 only once it completed).
CREATE FUNCTION provisioning._step_is_done(status text) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'provisioning_step_is_done';
CREATE FUNCTION provisioning._tenant_status_of_run(run_status text, before text, operation text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'provisioning_tenant_status_of_run';
CREATE FUNCTION provisioning._progress(done bigint, total bigint, run_status text) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'provisioning_progress';

-- Has a running step made no progress (its start, or the start of its latest retry: the
-- earliest of the running steps') for provisioning.stall_after? The status document's stalled,
-- and the metrics'.
CREATE FUNCTION provisioning._stalled(progressed_at timestamptz) RETURNS boolean
    LANGUAGE sql STABLE AS
$$
    SELECT coalesce(progressed_at < clock_timestamp()
                        - coalesce(current_setting('provisioning.stall_after', true), '10min')::interval,
                    false)
$$;

-- Why a run waits (spec section 11), or null: its engine is known to be unreachable
-- (engine_offline, also for a run in progress, which waits for it); a queued run's engine has
-- as many runs in progress as its max_concurrent_requests, the most the dispatch gives it, or
-- asked to be left alone (engine_limit); else it waits for a worker (queue). since: the start
-- of that wait as far as it is known (the run's queueing, or the outage's beginning).
-- The metrics ask it too, in an admin's name: it reads only the engine's name and limit.
CREATE FUNCTION provisioning._run_waiting(r provisioning.tenant_onboarding) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e     record;
    since timestamptz;
BEGIN
    SELECT en.name, en.max_concurrent_requests INTO e
      FROM provisioning.tenants t JOIN provisioning.engines en ON en.name = t.engine
     WHERE t.id = r.tenant_id;
    SELECT o.since INTO since FROM provisioning.engine_outages o WHERE o.engine = e.name AND o.ended_at IS NULL;
    IF since IS NOT NULL THEN
        RETURN jsonb_build_object('reason', 'engine_offline', 'since', greatest(since, r.created_at));
    ELSIF r.status <> 'PENDING' THEN
        RETURN NULL;
    ELSIF provisioning._engine_paused(e.name)
          OR e.max_concurrent_requests <= (SELECT count(*) FROM provisioning.tenant_onboarding o
                                             JOIN provisioning.tenants t ON t.id = o.tenant_id
                                            WHERE o.status = 'IN_PROGRESS' AND t.engine = e.name) THEN
        RETURN jsonb_build_object('reason', 'engine_limit', 'since', r.created_at);
    END IF;
    RETURN jsonb_build_object('reason', 'queue', 'since', r.created_at);
END
$$;

-- Does the engine ask to be left alone now (a 429, or a 503 with Retry-After)? Shared memory.
CREATE FUNCTION provisioning._engine_paused(engine text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'provisioning_engine_paused';

-- The status document of a run, given its engine's kind and base URL.
-- PL/pgSQL, not SQL: its plan is kept for the session instead of being made again in every
-- transaction, which makes provision_status faster.
-- stalled: a running step of a run in progress has made no progress (its start, or the start
-- of its latest retry: retried_at) for provisioning.stall_after; read from the steps the
-- document reads anyway, so it costs no query.
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
               'started_at', r.started_at, 'finished_at', r.finished_at,
               'stalled', r.status = 'IN_PROGRESS' AND provisioning._stalled(s.progressed_at),
               'waiting', CASE WHEN r.status IN ('PENDING', 'IN_PROGRESS') THEN provisioning._run_waiting(r) END)
      FROM (SELECT count(*) FILTER (WHERE provisioning._step_is_done(e->>'status')) AS done,
                   count(*) AS total,
                   min(e->>'step') FILTER (WHERE e->>'status' = 'running') AS current,
                   min(greatest((e->>'started_at')::timestamptz, (e->>'retried_at')::timestamptz))
                       FILTER (WHERE e->>'status' = 'running') AS progressed_at,
                   coalesce(jsonb_agg(jsonb_build_object('step', e->'step', 'message', e->'message',
                                                         'at', e->'finished_at'))
                              FILTER (WHERE e->>'status' = 'failed'), '[]') AS errors
              FROM jsonb_array_elements(r.provisioning_steps) e) s);
END
$$;

-- The same, looking the engine up (provision_start, provision_retry).
CREATE FUNCTION provisioning._status_doc(r provisioning.tenant_onboarding, tenant_status text)
    RETURNS jsonb
    LANGUAGE sql STABLE AS
$$
    SELECT provisioning._status_doc(r, tenant_status, e.kind, e.base_url)
      FROM (SELECT) one
      LEFT JOIN (provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine)
             ON t.id = r.tenant_id
$$;
