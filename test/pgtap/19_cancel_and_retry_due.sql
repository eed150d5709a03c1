-- pg_cancel_backend on a run worker stops the step's attempt, not the run: it is retried and
-- the run completes. retry_due() retries each tenant on its own: one whose settings went bad
-- is reported and skipped, and a long retry history cannot overflow the backoff.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(13);

\set ignored `$SIMCTL reset cancel.localhost`
\set ignored `$SIMCTL fault '{"site": "cancel.localhost", "method": "GET", "path": "^/api/resource/Company/", "action": "delay", "delay_ms": 2500, "times": 1}'`
SELECT test.new_engine('cancel') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Cancel Retail', 'cancel') RETURNING id AS tenant \gset
CREATE TEMP TABLE cancelled (pid integer);
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '30 s';
    worker   integer;
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT pid INTO worker FROM pg_stat_activity
         WHERE backend_type = 'provisioning run' AND query LIKE '% step=step_2_company %';
        EXIT WHEN worker IS NOT NULL;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'timed out waiting for a run worker in step_2_company';
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
    PERFORM pg_cancel_backend(worker);
    INSERT INTO cancelled VALUES (worker);
END
$$;
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'a cancelled run worker''s run completes');
SELECT ok(EXISTS (SELECT FROM provisioning.provision_logs(:'tenant') WHERE step = 'step_2_company' AND status = 'retrying'
                     AND message LIKE '%cancelled%'),
          'the cancelled attempt was retried');
\set summary `$SIMCTL summary cancel.localhost`
SELECT is((:'summary'::jsonb->>'Company')::int, 1, 'one company');

-- An engine's Retry-After is capped by provisioning.retry_after_max (1 s here), not obeyed for an hour.
ALTER SYSTEM SET provisioning.retry_after_max = 1;
SELECT pg_reload_conf();
\set ignored `for i in $(seq 1 100); do [ "$(psql -X -At -c 'SHOW provisioning.retry_after_max')" = 1s ] && break; sleep 0.05; done`
\set ignored `$SIMCTL reset later.localhost`
\set ignored `$SIMCTL fault '{"site": "later.localhost", "method": "GET", "path": "get_logged_user", "action": "status", "status": 429, "retry_after": 3600, "times": 1}'`
SELECT test.new_engine('later') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Later Retail', 'later') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant', 30), 'COMPLETED', 'Retry-After: 3600 held the run for about a second');
ALTER SYSTEM RESET provisioning.retry_after_max;
SELECT pg_reload_conf();

-- A company named ".." is a document name, not a step up the URL's path.
\set ignored `$SIMCTL reset dots.localhost`
SELECT test.new_engine('dots') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('Dots', 'dots', '{"company_name": "..", "abbr": "DD"}')
RETURNING id AS tenant \gset
SELECT isnt(test.wait_final(:'tenant'), 'IN_PROGRESS', 'the run ends');
\set requests `$SIMCTL requests dots.localhost`
SELECT ok(EXISTS (SELECT FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'path' = '/api/resource/Company/..'),
          'the engine was asked for /api/resource/Company/..');

-- retry_due(): two tenants left NOT_PROVISIONED by an offline engine, a day ago; then one's
-- settings go bad.
INSERT INTO provisioning.engines (name, kind, base_url) VALUES ('due19', 'erpnext', 'http://127.0.0.1:9');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-0000000019a1', 'Due Good', 'due19'),
    ('00000000-0000-4000-8000-0000000019b1', 'Due Bad', 'due19');
SELECT is(array_agg(test.wait_final(id)), '{NOT_PROVISIONED,NOT_PROVISIONED}', 'both runs found the engine offline')
  FROM provisioning.tenants WHERE engine = 'due19';
UPDATE provisioning.tenant_onboarding SET finished_at = now() - interval '1 day'
 WHERE tenant_id IN (SELECT id FROM provisioning.tenants WHERE engine = 'due19');
UPDATE provisioning.tenants SET settings = '{"currency": 978}' WHERE id = '00000000-0000-4000-8000-0000000019b1';
SELECT is(provisioning.retry_due(), 1, 'retry_due() restarts the good tenant and skips the bad one');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = '00000000-0000-4000-8000-0000000019a1'),
          2::bigint, 'the good tenant has its retry');
SELECT is(test.wait_final('00000000-0000-4000-8000-0000000019a1'), 'NOT_PROVISIONED', '(its engine is still offline)');

-- attempt 40 with the default delays: 60 s * 2^40 would overflow an interval
UPDATE provisioning.tenant_onboarding SET retry_attempt = 40, finished_at = now() - interval '2 hours'
 WHERE tenant_id = '00000000-0000-4000-8000-0000000019a1';
ALTER SYSTEM SET provisioning.retry_max_attempts = 100;
SELECT pg_reload_conf();
\set ignored `for i in $(seq 1 100); do [ "$(psql -X -At -c 'SHOW provisioning.retry_max_attempts')" = 100 ] && break; sleep 0.05; done`
SELECT lives_ok('SELECT provisioning.retry_due()', 'a long retry history is capped at retry_max_delay, not overflowed');
ALTER SYSTEM RESET provisioning.retry_max_attempts;
SELECT pg_reload_conf();

-- Settings are checked where they are set, with a reason, not at every launch.
\set ON_ERROR_STOP 0
ALTER SYSTEM SET provisioning.max_workers = 40;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'max_workers that leaves the launcher no worker slot is refused');
\set ON_ERROR_STOP 0
ALTER SYSTEM SET provisioning.database_name = '';
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'an empty database_name is refused');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
