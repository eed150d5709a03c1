-- The critical path: with every engine call taking 40 ms, steps that do not depend on each
-- other overlap in the engine's request log, never more than provisioning.max_parallel_steps
-- requests at once; no step starts before every step it depends on finished (in the run's
-- steps, and in the engine: no request that needs another step's document comes before
-- that document's create ended); the run makes exactly one of everything. With
-- max_parallel_steps = 1, or an engine that answers at once, no two requests overlap.
\set ignored `$SIMCTL :sim latency 40`
\set eng par:tag
\set name 'Parallel Retail'
\set what ''
\ir demo_run.sql
\ir one_of_everything.sql

SELECT test.peak_requests(:'requests') AS peak \gset
SELECT cmp_ok(:peak::bigint, '>=', 2::bigint, :'kind' || ': steps that do not depend on each other overlap in the engine');
SELECT cmp_ok(:peak::bigint, '<=', current_setting('provisioning.max_parallel_steps')::bigint,
              :'kind' || ': never more requests at once than provisioning.max_parallel_steps');
-- Odoo: step workers use their run worker's login (common.authenticate once; common.version
-- names no database, so it is not in the database's log)
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r
            WHERE :'odoo' AND r->>'service' = 'common' AND r->>'method' = 'authenticate'),
          CASE WHEN :'odoo' THEN 1 ELSE 0 END::bigint,
          :'kind' || ': the engine is logged in to once per run, not once per step worker');

-- no step started before each step it depends on finished
SELECT is(array_agg(format('%s started before %s finished', s->>'step', d->>'step')), NULL,
          :'kind' || ': every step started after the steps it depends on finished')
  FROM provisioning.tenant_onboarding o
  CROSS JOIN jsonb_array_elements(o.provisioning_steps) s
  JOIN provisioning.step_catalog c ON c.engine_kind = :'kind' AND c.operation = o.provisioning_type
                                   AND c.step = s->>'step'
  CROSS JOIN jsonb_array_elements(o.provisioning_steps) d
 WHERE o.tenant_id = :'tenant' AND d->>'step' = ANY (c.depends_on)
   AND s->>'started_at' IS NOT NULL
   AND (d->>'finished_at' IS NULL OR (s->>'started_at')::timestamptz < (d->>'finished_at')::timestamptz);
SELECT cmp_ok((SELECT count(*) FROM provisioning.step_catalog
                WHERE engine_kind = :'kind' AND operation = 'FULL_POS' AND depends_on <> '{}'),
              '>=', 8::bigint, :'kind' || ': the catalog names the steps'' dependencies');

-- in the engine: every request of the later kind starts after every request of the earlier
-- kind was answered (ERPNext: method and path; Odoo: the call). Answered, not ended: the
-- engine logs an answer's end once its last byte left, which may be after the next request
-- came.
WITH calls AS (
    SELECT CASE WHEN :'odoo' THEN r->>'rpc' ELSE concat(r->>'method', ' ', replace(r->>'path', '%20', ' ')) END AS call,
           (r->>'t_start')::float8 AS t_start, (r->>'t_answered')::float8 AS t_answered
      FROM jsonb_array_elements(:'requests'::jsonb) r
), pairs(kind, earlier, later) AS (VALUES
    ('erpnext', '^POST /api/resource/Company$', '/api/resource/Warehouse'),
    ('erpnext', '^POST /api/resource/Warehouse$', 'Stock Settings'),
    ('erpnext', '^POST /api/resource/Warehouse$', '/api/resource/Item'),
    ('erpnext', '^POST /api/resource/Warehouse$', '^POST /api/resource/POS Profile$'),
    ('erpnext', '^POST /api/resource/Customer$', '^POST /api/resource/POS Profile$'),
    ('erpnext', '^POST /api/resource/POS Profile$', 'POS Opening Entry'),
    ('odoo', 'res.company create$', 'stock.warehouse'),
    ('odoo', 'res.company create$', 'res.partner'),
    ('odoo', 'account.chart.template try_loading$', 'pos.config'),
    ('odoo', 'stock.warehouse create$', 'pos.config'),
    ('odoo', 'pos.config (write|create)$', 'open_ui|pos.session'))
SELECT is(array_agg(DISTINCT format('%s before %s was answered', b.call, a.call)), NULL,
          :'kind' || ': in the engine, no step''s request came before the documents it needs were made')
  FROM pairs p
  JOIN calls a ON a.call ~ p.earlier
  JOIN calls b ON b.call ~ p.later AND b.t_start < a.t_answered
 WHERE p.kind = :'kind';

-- one step at a time
ALTER SYSTEM SET provisioning.max_parallel_steps = 1;
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'max_parallel_steps = 1 to be in force' "SELECT current_setting('provisioning.max_parallel_steps') = '1'"`
\set eng seq:tag
\set name 'Sequential Retail'
\set what 'max_parallel_steps = 1: '
\ir demo_run.sql
SELECT is(test.peak_requests(:'requests'), 1::bigint, :'kind' || ': max_parallel_steps = 1: no two requests overlap');
ALTER SYSTEM RESET provisioning.max_parallel_steps;
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'max_parallel_steps to be back to its default' "SELECT current_setting('provisioning.max_parallel_steps') = '4'"`

-- an engine that answers at once: a step worker would cost more than it saves
\set ignored `$SIMCTL :sim latency 0`
\set eng fast:tag
\set name 'Fast Retail'
\set what 'a fast engine: '
\ir demo_run.sql
SELECT is(array_agg(format('%s started while %s ran', b->>'step', a->>'step')), NULL,
          :'kind' || ': a fast engine: its steps run one at a time')
  FROM provisioning.tenant_onboarding o
  CROSS JOIN jsonb_array_elements(o.provisioning_steps) a
  CROSS JOIN jsonb_array_elements(o.provisioning_steps) b
 WHERE o.tenant_id = :'tenant' AND a->>'step' <> b->>'step'
   AND (b->>'started_at')::timestamptz >= (a->>'started_at')::timestamptz
   AND (b->>'started_at')::timestamptz < (a->>'finished_at')::timestamptz;

-- Step workers have background worker slots of their own (step_pool.c), so a run's steps
-- overlap also while runs wait in the queue: with one run worker and two runs queued at
-- once, the first runs steps at once while the second waits for the run worker.
\set ignored `$SIMCTL :sim latency 40`
ALTER SYSTEM SET provisioning.max_workers = 1;
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'max_workers = 1 to be in force' "SELECT current_setting('provisioning.max_workers') = '1'"`
-- idle run workers of earlier runs would each take one of the two runs at their commit
SELECT count(pg_terminate_backend(pid)) >= 0 AS terminated
  FROM pg_stat_activity WHERE backend_type = 'provisioning run' AND state = 'idle';
\set ignored `$WAIT_FOR 'idle run workers to leave' "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'provisioning run'"`
\set first first:tag
\set second second:tag
\set ignored `$SIMCTL :sim reset :first:host`
\set ignored `$SIMCTL :sim reset :second:host`
SELECT test.new_test_engine(:'kind', :'first') IS NOT NULL AS engine;
SELECT test.new_test_engine(:'kind', :'second') IS NOT NULL AS engine;
BEGIN;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Queued First', :'first') RETURNING id AS first_tenant \gset
INSERT INTO provisioning.tenants (name, engine) VALUES ('Queued Second', :'second') RETURNING id AS second_tenant \gset
COMMIT;
SELECT is(test.wait_final(:'first_tenant') || ' ' || test.wait_final(:'second_tenant'), 'COMPLETED COMPLETED',
          :'kind' || ': two runs queued at once for one run worker complete');
\set requests `$SIMCTL :sim requests :first:host`
SELECT cmp_ok(test.peak_requests(:'requests'), '>=', 2::bigint,
              :'kind' || ': two runs queued for one run worker: the first ran steps at once');
SELECT ok(NOT (a.started_at < b.finished_at AND b.started_at < a.finished_at),
          :'kind' || ': ...while the other waited in the queue (their runs did not overlap)')
  FROM provisioning.tenant_onboarding a, provisioning.tenant_onboarding b
 WHERE a.tenant_id = :'first_tenant' AND b.tenant_id = :'second_tenant';
\set requests `$SIMCTL :sim requests :second:host`
SELECT cmp_ok(test.peak_requests(:'requests'), '>=', 2::bigint,
              :'kind' || ': the second ran steps at once too');
ALTER SYSTEM RESET provisioning.max_workers;
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'max_workers to be back to its default' "SELECT current_setting('provisioning.max_workers') = '4'"`
\set ignored `$SIMCTL :sim latency 0`
