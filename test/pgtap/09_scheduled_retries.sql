-- Scheduled retries: a tenant whose engine kept failing (503) is provisioned by pg_cron's
-- retry_due() once the engine is well again, without anyone calling provision_start. (An
-- engine that was offline needs no schedule: its recovery queues the runs again, case 34.)
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(7);

\set ignored `$SIMCTL reset sched.localhost`
SELECT test.new_engine('sched') IS NOT NULL AS engine;
\set ignored `$SIMCTL fault '{"site": "sched.localhost", "method": "GET", "path": "/api/method/frappe.auth.get_logged_user", "action": "status", "status": 503, "times": 1000}'`
INSERT INTO provisioning.tenants (name, engine) VALUES ('Scheduled Retail', 'sched') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant'), 'FAILED', 'the engine fails: FAILED');
\set ignored `$SIMCTL clear`

ALTER SYSTEM SET provisioning.retry_base_delay = 0;
SELECT pg_reload_conf();
-- a session reads the reloaded file between statements: poll from the client
\set ignored `$WAIT_FOR 'the reload of provisioning.retry_base_delay = 0' "SELECT current_setting('provisioning.retry_base_delay') = '0'"`
SELECT is(current_setting('provisioning.retry_base_delay'), '0', 'retries are due at once');
SELECT cmp_ok(provisioning.retry_due(), '>=', 1, 'retry_due() restarts the run that failed for a transient cause');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'and the retry completes');
SELECT is((SELECT retry_attempt FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant'
            ORDER BY created_at DESC LIMIT 1), 1, 'as scheduled retry number 1');

-- The same through pg_cron: the job calls retry_due() every minute.
\set ignored `$SIMCTL fault '{"site": "sched.localhost", "method": "GET", "path": "/api/method/frappe.auth.get_logged_user", "action": "status", "status": 503, "times": 1000}'`
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS started;
SELECT test.wait_final(:'tenant') = 'FAILED' AS failed_again;
\set ignored `$SIMCTL clear`
SELECT provisioning.schedule_retries('* * * * *') AS job \gset
SELECT is((SELECT command FROM cron.job WHERE jobid = :job), 'SELECT provisioning.retry_due()',
          'schedule_retries() schedules retry_due() with pg_cron');
SELECT is(test.wait_tenant(:'tenant', 'PROVISIONED', 90), 'PROVISIONED',
          'pg_cron provisions the tenant once the engine is back');
SELECT cron.unschedule(:job) AS unscheduled;
ALTER SYSTEM RESET provisioning.retry_base_delay;
SELECT pg_reload_conf();

SELECT * FROM finish();
