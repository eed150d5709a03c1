-- provisioning.metrics against runs with known outcomes. On engine "metrics": Alpha
-- completes after one retried write, Beta ends PARTIAL (the engine refuses demo items),
-- Gamma fails at the chart of accounts (a misspelled chart) and its retry completes; on
-- the offline engine "metrics_off", Delta ends NOT_PROVISIONED after three retries. Every
-- number of those engines' rows is compared with what the runs are known to have, and
-- with the run log (a separate record of the same steps); the total row with the tables.
-- The queue gauges, the window and the access rule are checked on rows never committed.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(20);

\set ignored `$SIMCTL reset metrics.localhost`
\set ignored `$SIMCTL fault '{"site": "metrics.localhost", "method": "POST", "path": "/api/resource/Company", "action": "status", "status": 503, "times": 1}'`
\set ignored `$SIMCTL fault '{"site": "metrics.localhost", "method": "POST", "doctype": "Item", "action": "status", "status": 417, "times": -1}'`
SELECT test.new_engine('metrics') IS NOT NULL AS engine;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('metrics_off', 'erpnext', 'http://127.0.0.1:9', 'k', 's');

-- One at a time, so the order of the outcomes (and so the last error) is known, and each
-- run's steps one at a time too, so the steps a failed run executed are known (steps that do
-- not need the failed one would run beside it). Beta and Gamma are BASIC: a site allows one
-- open POS session per cashier, and Alpha holds it.
ALTER SYSTEM SET provisioning.max_parallel_steps = 1;
SELECT pg_reload_conf() AS reloaded;
\set ignored `$WAIT_FOR 'max_parallel_steps = 1 to be in force' "SELECT current_setting('provisioning.max_parallel_steps') = '1'"`
INSERT INTO provisioning.tenants (name, engine) VALUES ('Alpha Retail', 'metrics') RETURNING id AS alpha \gset
SELECT is(test.wait_final(:'alpha'), 'COMPLETED', 'Alpha completes after a retried write');
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Beta Retail', 'metrics', '{"include_demo_data": true, "provisioning_type": "BASIC"}') RETURNING id AS beta \gset
SELECT is(test.wait_final(:'beta'), 'PARTIAL', 'Beta ends PARTIAL: the engine refuses demo items');
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Gamma Retail', 'metrics', '{"chart_of_accounts": "Standrad", "provisioning_type": "BASIC"}') RETURNING id AS gamma \gset
SELECT is(test.wait_final(:'gamma'), 'FAILED', 'Gamma fails at the chart of accounts');
UPDATE provisioning.tenants SET settings = '{"provisioning_type": "BASIC"}' WHERE id = :'gamma';
SELECT provisioning.provision_retry(:'gamma') IS NOT NULL AS retried;
SELECT is(test.wait_final(:'gamma'), 'COMPLETED', 'Gamma''s retry completes');
INSERT INTO provisioning.tenants (name, engine) VALUES ('Delta Retail', 'metrics_off') RETURNING id AS delta \gset
SELECT is(test.wait_final(:'delta'), 'NOT_PROVISIONED', 'Delta''s engine is offline');
ALTER SYSTEM RESET provisioning.max_parallel_steps;
SELECT pg_reload_conf() AS reloaded;

-- Known outcomes. The retry carried steps 0-2 (run by Gamma's first run) and did not run
-- the demo items; steps 8 and 9 belong to FULL_POS runs only.
SELECT results_eq(
    $$SELECT engine, runs, completed, partial, failed, not_provisioned, retries, queued, in_flight, oldest_queued_s
        FROM provisioning.metrics WHERE engine IN ('metrics', 'metrics_off') AND step IS NULL ORDER BY engine$$,
    $$VALUES ('metrics', 4::bigint, 2::bigint, 1::bigint, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 0::bigint, NULL::double precision),
             ('metrics_off', 1, 0, 0, 0, 1, 3, 0, 0, NULL)$$,
    'per engine: runs by outcome, retries, an empty queue');
SELECT results_eq(
    $$SELECT engine, step, runs, failed, retries FROM provisioning.metrics
       WHERE engine IN ('metrics', 'metrics_off') AND step IS NOT NULL ORDER BY engine, step$$,
    $$VALUES ('metrics', 'step_0_engine_check', 3::bigint, 0::bigint, 0::bigint),
             ('metrics', 'step_1_fiscal_year', 3, 0, 0),
             ('metrics', 'step_2_company', 3, 0, 1),
             ('metrics', 'step_3_chart_of_accounts', 4, 1, 0),
             ('metrics', 'step_4_warehouses', 3, 0, 0),
             ('metrics', 'step_5_settings', 3, 0, 0),
             ('metrics', 'step_6_items', 1, 1, 0),
             ('metrics', 'step_7_customer', 3, 0, 0),
             ('metrics', 'step_8_pos_profile', 1, 0, 0),
             ('metrics', 'step_9_pos_session', 1, 0, 0),
             ('metrics_off', 'step_0_engine_check', 1, 1, 3)$$,
    'per step: the runs that executed it, failures and retries');
SELECT matches((SELECT last_error FROM provisioning.metrics WHERE engine = 'metrics' AND step IS NULL),
               '^step_3_chart_of_accounts: the chart of accounts "Standrad" created no accounts',
               'the engine''s last error is Gamma''s, with its step');
SELECT is((SELECT last_error_at FROM provisioning.metrics WHERE engine = 'metrics' AND step IS NULL),
          (SELECT finished_at FROM provisioning.tenant_onboarding WHERE tenant_id = :'gamma' AND status = 'FAILED'),
          'and when Gamma''s run failed');
SELECT matches((SELECT last_error FROM provisioning.metrics WHERE engine = 'metrics_off' AND step IS NULL),
               '^step_0_engine_check: the engine is offline', 'the offline engine''s last error says so');

-- Every number of the step rows against the run log: one row per executed step's outcome
-- (with its duration) and one per retry.
SELECT results_eq(
    $$SELECT engine, step, runs, completed, existed, skipped, failed, retries,
             round(p50_ms::numeric, 6), round(p95_ms::numeric, 6), round(max_ms::numeric, 6), last_error
        FROM provisioning.metrics WHERE engine IN ('metrics', 'metrics_off') AND step IS NOT NULL ORDER BY engine, step$$,
    $$SELECT t.engine, l.step, count(*) FILTER (WHERE l.status <> 'retrying'),
             count(*) FILTER (WHERE l.status = 'completed'), count(*) FILTER (WHERE l.status = 'exists'),
             count(*) FILTER (WHERE l.status = 'skipped'), count(*) FILTER (WHERE l.status = 'failed'),
             count(*) FILTER (WHERE l.status = 'retrying'),
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.duration_ms)::numeric, 6),
             round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l.duration_ms)::numeric, 6),
             round(max(l.duration_ms)::numeric, 6),
             (array_agg(l.message ORDER BY l.at DESC) FILTER (WHERE l.status = 'failed'))[1]
        FROM provisioning.run_log l JOIN provisioning.tenants t ON t.id = l.tenant_id
       WHERE t.engine IN ('metrics', 'metrics_off') AND l.step IS NOT NULL
       GROUP BY t.engine, l.step ORDER BY t.engine, l.step$$,
    'every step row: outcomes, retries, p50/p95/max duration and last error match the run log');
SELECT is((SELECT count(*) FROM provisioning.metrics m
             JOIN provisioning.run_log l ON l.message = m.last_error AND l.status = 'failed' AND l.step = m.step
            WHERE m.engine IN ('metrics', 'metrics_off') AND m.step IS NOT NULL
              AND abs(extract(epoch FROM l.at - m.last_error_at)) < 0.1),
          3::bigint, 'each failed step''s last error is dated by its log row');
SELECT results_eq(
    $$SELECT engine, round(p50_ms::numeric, 6), round(p95_ms::numeric, 6), round(max_ms::numeric, 6)
        FROM provisioning.metrics WHERE engine IN ('metrics', 'metrics_off') AND step IS NULL ORDER BY engine$$,
    $$SELECT t.engine, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.duration_ms)::numeric, 6),
             round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l.duration_ms)::numeric, 6),
             round(max(l.duration_ms)::numeric, 6)
        FROM provisioning.run_log l JOIN provisioning.tenants t ON t.id = l.tenant_id
       WHERE t.engine IN ('metrics', 'metrics_off') AND l.step IS NULL
         AND l.status IN ('COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED')
       GROUP BY t.engine ORDER BY t.engine$$,
    'run durations: p50, p95 and max of the run log''s finished runs');

-- The total row against the tables, and the per-step totals against the run log.
SELECT results_eq(
    $$SELECT runs, completed, partial, failed, not_provisioned, queued, in_flight,
             tenants_not_provisioned, tenants_provisioning, tenants_provisioned, tenants_partial, tenants_failed
        FROM provisioning.metrics WHERE engine IS NULL AND step IS NULL$$,
    $$SELECT count(*) FILTER (WHERE o.status NOT IN ('PENDING', 'IN_PROGRESS') AND o.finished_at >= now() - interval '1 day'),
             count(*) FILTER (WHERE o.status = 'COMPLETED' AND o.finished_at >= now() - interval '1 day'),
             count(*) FILTER (WHERE o.status = 'PARTIAL' AND o.finished_at >= now() - interval '1 day'),
             count(*) FILTER (WHERE o.status = 'FAILED' AND o.finished_at >= now() - interval '1 day'),
             count(*) FILTER (WHERE o.status = 'NOT_PROVISIONED' AND o.finished_at >= now() - interval '1 day'),
             count(*) FILTER (WHERE o.status = 'PENDING'), count(*) FILTER (WHERE o.status = 'IN_PROGRESS'),
             (SELECT count(*) FROM provisioning.tenants WHERE provisioning_status = 'NOT_PROVISIONED'),
             (SELECT count(*) FROM provisioning.tenants WHERE provisioning_status = 'PROVISIONING'),
             (SELECT count(*) FROM provisioning.tenants WHERE provisioning_status = 'PROVISIONED'),
             (SELECT count(*) FROM provisioning.tenants WHERE provisioning_status = 'PARTIAL'),
             (SELECT count(*) FROM provisioning.tenants WHERE provisioning_status = 'FAILED')
        FROM provisioning.tenant_onboarding o$$,
    'the total row: runs in the last day by outcome, the queue, tenants by provisioning_status');
SELECT results_eq(
    $$SELECT step, runs, failed, retries FROM provisioning.metrics WHERE engine IS NULL AND step IS NOT NULL ORDER BY step$$,
    $$SELECT l.step, count(*) FILTER (WHERE l.status <> 'retrying'), count(*) FILTER (WHERE l.status = 'failed'),
             count(*) FILTER (WHERE l.status = 'retrying')
        FROM provisioning.run_log l JOIN provisioning.tenant_onboarding o ON o.id = l.run_id
       WHERE o.status NOT IN ('PENDING', 'IN_PROGRESS') AND o.finished_at >= now() - interval '1 day'
         AND l.step IS NOT NULL
       GROUP BY l.step ORDER BY l.step$$,
    'each step on every engine: runs, failures and retries of the run log');

-- Queue and window on rows no worker ever sees: a transaction that rolls back; the answers
-- are kept in psql variables and checked after it.
BEGIN;
SET LOCAL provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('metrics_q', 'erpnext', 'http://127.0.0.1:9', 'k', 's');
INSERT INTO provisioning.tenants (id, name, engine)
SELECT ('00000000-0000-4000-8000-0000000015a' || i)::uuid, 'Queue ' || i, 'metrics_q' FROM generate_series(1, 4) i;
INSERT INTO provisioning.tenant_onboarding (tenant_id, status, created_at, started_at, finished_at) VALUES
    ('00000000-0000-4000-8000-0000000015a1', 'PENDING', now() - interval '90 s', NULL, NULL),
    ('00000000-0000-4000-8000-0000000015a2', 'PENDING', now() - interval '30 s', NULL, NULL),
    ('00000000-0000-4000-8000-0000000015a3', 'IN_PROGRESS', now() - interval '10 s', now() - interval '5 s', NULL),
    ('00000000-0000-4000-8000-0000000015a4', 'COMPLETED', now() - interval '2 days', now() - interval '2 days',
     now() - interval '2 days' + interval '1.5 s');
SELECT ARRAY[runs, queued, in_flight, oldest_queued_s] AS queue_row
  FROM provisioning.metrics WHERE engine = 'metrics_q' AND step IS NULL \gset
SELECT queued >= 2 AND in_flight >= 1 AND oldest_queued_s >= 90 AS queue_in_total
  FROM provisioning.metrics WHERE engine IS NULL AND step IS NULL \gset
SET LOCAL provisioning.metrics_window = '3d';
SELECT ARRAY[runs, completed, p50_ms, max_ms] AS window_row
  FROM provisioning.metrics WHERE engine = 'metrics_q' AND step IS NULL \gset
ROLLBACK;
SELECT is(:'queue_row'::float8[], ARRAY[0, 2, 1, 90]::float8[],
          'queued and in-flight runs, the oldest queued 90 s ago; a run finished two days ago is outside the window');
SELECT ok(:'queue_in_total', 'the total row counts them too');
SELECT is(:'window_row'::float8[], ARRAY[1, 1, 1500, 1500]::float8[],
          'provisioning.metrics_window = 3d takes that run in');

-- Admins only; an admin sees every row through the policies.
CREATE TEMP TABLE metrics_as_owner AS SELECT * FROM provisioning.metrics;
GRANT SELECT ON metrics_as_owner TO provisioning_admin;
SET ROLE provisioning_user;
SELECT throws_ok('SELECT * FROM provisioning.metrics', '42501', NULL, 'a provisioning_user may not read the metrics');
SET ROLE provisioning_admin;
SELECT results_eq('SELECT * FROM provisioning.metrics', 'SELECT * FROM metrics_as_owner',
                  'an admin reads every row, as the owner does');
RESET ROLE;

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
