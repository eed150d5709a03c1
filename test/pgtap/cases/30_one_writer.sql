-- One writer per run. With every engine call taking 40 ms a run's independent steps go to
-- step workers at once, and every change to the run's row still comes from its run worker.
-- Then the run worker is terminated while its step workers execute steps (the walk-in
-- customer's create is held 3 s in the engine): the step workers stop too, a new run worker
-- resumes the run once they are gone and executes their steps again, and the engine holds
-- exactly one of everything.
\set ignored `$SIMCTL :sim latency 40`
\set eng writer:tag
\set name 'Writer Retail'
\set what 'steps at once: '
\ir demo_run.sql
SELECT cmp_ok(test.peak_requests(:'requests'), '>=', 2::bigint, :'kind' || ': steps at once: they overlapped in the engine');
SELECT is(array_agg(DISTINCT w.backend_type), '{"provisioning run"}',
          :'kind' || ': steps at once: only the run worker changed the run')
  FROM test.run_writers w JOIN provisioning.tenant_onboarding o ON o.id = w.run_id
 WHERE o.tenant_id = :'tenant';
-- the run worker and its step workers are one execution of the run: what one learns holds
-- for the others (ERPNext: the company and the profile it created need no lookup of their
-- own documents; Odoo: one login)
SELECT is(count(*), CASE WHEN :'odoo' THEN 1 ELSE 0 END::bigint,
          :'kind' || ': steps at once: the run worker''s session and its step workers'' are one')
  FROM jsonb_array_elements(:'requests'::jsonb) r
 WHERE CASE WHEN :'odoo' THEN r->>'service' = 'common' AND r->>'method' = 'authenticate'
            ELSE r->>'method' = 'GET' AND r->>'path' ~ '^/api/resource/POS%20(Profile|Opening%20Entry)' END;

\set eng orphan:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
SELECT format('{"db": "%s", "method": "object.execute_kw", "pattern": "res.partner create$", "action": "delay", "delay_ms": 3000, "times": 1}', :'eng') AS fault \gset
\else
SELECT format('{"site": "%s.localhost", "method": "POST", "path": "^/api/resource/Customer$", "action": "delay", "delay_ms": 3000, "times": 1}', :'eng') AS fault \gset
\endif
\set ignored `$SIMCTL :sim fault :'fault'`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Orphan Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT id AS run FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant' \gset
CREATE TEMP TABLE terminated (pid integer);
SELECT set_config('test.run', :'run', false) IS NOT NULL AS run_set;
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '30 s';
    run_pid  integer;
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT r.pid INTO run_pid
          FROM pg_stat_activity r
         WHERE r.backend_type = 'provisioning run'
           AND r.query LIKE '%event=step_workers_wait %run_id=' || current_setting('test.run') || ' %'
           AND EXISTS (SELECT FROM pg_stat_activity s
                        WHERE s.backend_type = 'provisioning step'
                          AND s.query LIKE '%run_id=' || current_setting('test.run') || ' %step=step_7_customer%');
        EXIT WHEN run_pid IS NOT NULL;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'timed out waiting for the run worker to wait for a step worker in step_7_customer';
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    PERFORM pg_terminate_backend(run_pid);
    INSERT INTO terminated VALUES (run_pid);
END
$$;
SELECT is(count(*), 1::bigint, :'kind' || ': the run worker was terminated while its step workers executed steps') FROM terminated;
SELECT format('SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = %L AND query LIKE %L',
              'provisioning step', '%run_id=' || :'run' || ' %') AS gone \gset
\set ignored `$WAIT_FOR 'the step workers of the terminated run worker to stop' :'gone'`
SELECT is(count(*), 0::bigint, :'kind' || ': its step workers stopped too')
  FROM pg_stat_activity WHERE backend_type = 'provisioning step' AND query LIKE '%run_id=' || :'run' || ' %';
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': a new run worker resumed the run and completed it');
SELECT ok(EXISTS (SELECT FROM provisioning.run_log WHERE run_id = :'run' AND message = 'run resumed'),
          :'kind' || ': the run was resumed');
\ir one_of_everything.sql
SELECT is(array_agg(DISTINCT w.backend_type), '{"provisioning run"}',
          :'kind' || ': only run workers changed the run')
  FROM test.run_writers w WHERE w.run_id = :'run';
DROP TABLE terminated;
\set ignored `$SIMCTL :sim latency 0`
