-- Metrics (issue 13): the run_queued log line and the provisioning.metrics view.

-- The run_queued server log line, in the key=value form of the run workers' lines
-- (src/run_events.c), at provisioning.log_level.
CREATE FUNCTION provisioning._log_run_queued(correlation_id uuid, run_id uuid, tenant_id uuid,
                                             engine text, kind text, step text, retry_of uuid)
    RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_log_run_queued';

-- Logs a queued run as the queueing transaction commits (a start rolled back logs
-- nothing), where a worker will run it (a restore elsewhere queues nothing). It runs in
-- the caller's session, hence SECURITY DEFINER: users may not read engines.
CREATE FUNCTION provisioning._run_queued() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._log_run_queued(
                    NEW.correlation_id, NEW.id, NEW.tenant_id, e.name, e.kind,
                    (SELECT s->>'step' FROM jsonb_array_elements(NEW.provisioning_steps) s
                      WHERE s->>'status' = 'pending' LIMIT 1),
                    NEW.retry_of)
           FROM provisioning.tenants t LEFT JOIN provisioning.engines e ON e.name = t.engine
          WHERE t.id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tenant_onboarding_log_queued
    AFTER INSERT ON provisioning.tenant_onboarding
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'PENDING')
    EXECUTE FUNCTION provisioning._run_queued();

-- Each engine's use since the server started, as the workers' shared engine capacity keeps
-- it (src/engine_limits.c), for this database: requests sent, the engine's refusals (429, 503
-- with Retry-After), the time it asked to be left alone (ms, overlapping pauses once), the
-- most requests in flight at once; now, the requests in flight and the pause (NULL: none).
CREATE FUNCTION provisioning._engine_use()
    RETURNS TABLE (engine text, requests bigint, throttled bigint, paused_ms bigint,
                   peak_in_flight integer, in_flight integer, paused_until timestamptz)
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_engine_use';

-- How provisioning is doing, for monitoring (admins only). Rows:
--   engine, kind, step     one engine's runs of one step;
--   NULL, NULL, step       that step on every engine;
--   engine, kind, NULL     one engine's runs as a whole, with its queue and its requests;
--   NULL, NULL, NULL       every run, the whole queue, every engine's requests and the
--                          tenants by provisioning_status.
-- Runs count when they finished within provisioning.metrics_window; a step counts in the
-- run that executed it (a retry's carried steps ran in the earlier run). Durations are
-- milliseconds; retries are attempts beyond the first. The engine of a run is its tenant's;
-- '' for a tenant whose engine was removed. The requests (requests_sent, throttled,
-- paused_ms, peak_in_flight: requests, not runs) count since the server started, not in the
-- window (_engine_use); waiting_* count the queued and running runs by why they wait
-- (_run_waiting, as their status documents say), offline_since since when the engine has
-- been unreachable (engine_outages; null when it answers). An engine with requests but no run in
-- the window has a row of its own, and the total row sums the requests but for
-- peak_in_flight, the highest engine's, and offline_since, the oldest outage. Each table is
-- read through an index: runs
-- finished in the window (tenant_onboarding_finished_idx), the queue
-- (idx_tenant_onboarding_provisioning_status), tenants by status
-- (idx_tenants_provisioning_status), a run's tenant by primary key (a lookup per run
-- costs less than a pass over every tenant), an engine's kind once per row. A scrape
-- costs the step executions of the window: a view cannot carry settings, so the query
-- lives in a function that turns JIT off (compiling it costs more than running it) and
-- gives its sorts 64MB. It runs as the caller: an admin sees every row through the
-- policies.
CREATE FUNCTION provisioning._metrics()
    RETURNS TABLE (engine text, kind text, step text, runs bigint, completed bigint, existed bigint,
                   skipped bigint, partial bigint, failed bigint, not_provisioned bigint,
                   p50_ms double precision, p95_ms double precision, max_ms double precision,
                   retries bigint, last_error text, last_error_at timestamptz,
                   queued bigint, in_flight bigint, oldest_queued_s double precision,
                   tenants_not_provisioned bigint, tenants_provisioning bigint, tenants_provisioned bigint,
                   tenants_partial bigint, tenants_failed bigint,
                   requests_sent bigint, throttled bigint, paused_ms bigint, peak_in_flight integer,
                   waiting_queue bigint, waiting_engine_limit bigint, waiting_engine_offline bigint,
                   offline_since timestamptz, cancelled bigint, stalled bigint,
                   tenants_suspended bigint, tenants_offboarded bigint)
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
uses AS MATERIALIZED (
    SELECT u.* FROM provisioning._engine_use() u WHERE u.engine IN (SELECT e.name FROM provisioning.engines e)
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
           END AS error, NULL AS waiting, false AS stalled
      FROM recent
    UNION ALL
    SELECT coalesce((SELECT t.engine FROM provisioning.tenants t WHERE t.id = o.tenant_id), ''),
           o.status, o.created_at, NULL, NULL, NULL, provisioning._run_waiting(o)->>'reason',
           o.status = 'IN_PROGRESS'
             AND provisioning._stalled((SELECT min(greatest((e->>'started_at')::timestamptz,
                                                            (e->>'retried_at')::timestamptz))
                                          FROM jsonb_array_elements(o.provisioning_steps) e
                                         WHERE e->>'status' = 'running'))
      FROM provisioning.tenant_onboarding o
     WHERE o.status IN ('PENDING', 'IN_PROGRESS')
    UNION ALL
    -- an engine's requests give it a row of its own, counting no run
    SELECT engine, NULL, NULL, NULL, NULL, NULL, NULL, false FROM uses
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
               AS oldest_queued_s,
           count(*) FILTER (WHERE waiting = 'queue') AS waiting_queue,
           count(*) FILTER (WHERE waiting = 'engine_limit') AS waiting_engine_limit,
           count(*) FILTER (WHERE waiting = 'engine_offline') AS waiting_engine_offline,
           count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
           count(*) FILTER (WHERE stalled) AS stalled
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
           count(*) FILTER (WHERE provisioning_status = 'FAILED') AS failed,
           count(*) FILTER (WHERE provisioning_status = 'SUSPENDED') AS suspended,
           count(*) FILTER (WHERE provisioning_status = 'OFFBOARDED') AS offboarded
      FROM provisioning.tenants
),
-- engines down now, and since when (the total row: the oldest outage)
offline AS (
    SELECT o.engine, o.since FROM provisioning.engine_outages o WHERE o.ended_at IS NULL
),
use_total AS (
    SELECT sum(requests)::bigint AS requests, sum(throttled)::bigint AS throttled,
           sum(paused_ms)::bigint AS paused_ms, max(peak_in_flight) AS peak_in_flight
      FROM uses
)
SELECT x.engine, e.kind, x.step, x.runs, x.completed, x.existed, x.skipped, NULL, x.failed, NULL,
       x.p50_ms, x.p95_ms, x.max_ms, x.retries, x.last_error, x.last_error_at,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM step_stats x LEFT JOIN provisioning.engines e ON e.name = x.engine
UNION ALL
-- an engine without an entry sent nothing since the server started (or its entry's eviction)
SELECT g.engine, e.kind, NULL, g.runs, g.completed, NULL, NULL, g.partial, g.failed, g.not_provisioned,
       g.p50_ms, g.p95_ms, g.max_ms, coalesce(x.retries, 0), g.last_error, g.last_error_at,
       g.queued, g.in_flight, g.oldest_queued_s,
       c.not_provisioned, c.provisioning, c.provisioned, c.partial, c.failed,
       coalesce(u.requests, t.requests, 0), coalesce(u.throttled, t.throttled, 0),
       coalesce(u.paused_ms, t.paused_ms, 0), coalesce(u.peak_in_flight, t.peak_in_flight, 0),
       g.waiting_queue, g.waiting_engine_limit, g.waiting_engine_offline,
       CASE WHEN g.engine IS NULL THEN (SELECT min(since) FROM offline)
            ELSE (SELECT since FROM offline f WHERE f.engine = g.engine) END,
       g.cancelled, g.stalled, c.suspended, c.offboarded
  FROM run_stats g
  LEFT JOIN run_retries x
    ON coalesce(x.engine, '') = coalesce(g.engine, '') AND (x.engine IS NULL) = (g.engine IS NULL)
  LEFT JOIN tenant_counts c ON g.engine IS NULL
  LEFT JOIN uses u ON u.engine = g.engine
  LEFT JOIN use_total t ON g.engine IS NULL
  LEFT JOIN provisioning.engines e ON e.name = g.engine
 ORDER BY 1 NULLS FIRST, 3 NULLS FIRST
$$;

CREATE VIEW provisioning.metrics WITH (security_invoker = true) AS
    SELECT * FROM provisioning._metrics();
