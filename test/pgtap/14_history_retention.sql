-- History is bounded: prune_history() deletes finished runs (with their log rows) older
-- than provisioning.history_retention, a batch at a time, and keeps every tenant's
-- latest run and anything queued or running.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(5);

SET provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('history', 'erpnext', 'http://127.0.0.1:9', 'k', 's');
INSERT INTO provisioning.tenants (id, name, engine) VALUES ('00000000-0000-4000-8000-0000000014a1', 'History', 'history');
-- five finished runs, 10 to 50 days old, each with a log row
INSERT INTO provisioning.tenant_onboarding (tenant_id, status, created_at, started_at, finished_at)
SELECT '00000000-0000-4000-8000-0000000014a1', 'COMPLETED', now() - d * interval '1 day',
       now() - d * interval '1 day', now() - d * interval '1 day'
  FROM generate_series(10, 50, 10) d;
INSERT INTO provisioning.run_log (tenant_id, run_id, correlation_id, status, message)
SELECT tenant_id, id, correlation_id, 'COMPLETED', 'old' FROM provisioning.tenant_onboarding
 WHERE tenant_id = '00000000-0000-4000-8000-0000000014a1';

ALTER SYSTEM SET provisioning.history_retention = '25d';
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'the reload of provisioning.history_retention = 25d' "SELECT current_setting('provisioning.history_retention') = '25d'"`

SELECT is(provisioning.prune_history(2), 2, 'a batch of two of the three runs older than 25 days');
SELECT is(provisioning.prune_history(2), 1, 'then the last one');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = '00000000-0000-4000-8000-0000000014a1'),
          2::bigint, 'the two younger runs are kept');
SELECT is((SELECT count(*) FROM provisioning.run_log WHERE tenant_id = '00000000-0000-4000-8000-0000000014a1'),
          2::bigint, 'with their log rows only');

ALTER SYSTEM SET provisioning.history_retention = '1s';
SELECT pg_reload_conf();
\set ignored `$WAIT_FOR 'the reload of provisioning.history_retention = 1s' "SELECT current_setting('provisioning.history_retention') = '1s'"`
SELECT provisioning.prune_history() IS NOT NULL AS pruned;
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = '00000000-0000-4000-8000-0000000014a1'),
          1::bigint, 'a tenant''s latest run is always kept');

ALTER SYSTEM RESET provisioning.history_retention;
SELECT pg_reload_conf();
DELETE FROM provisioning.tenants WHERE id = '00000000-0000-4000-8000-0000000014a1';
DELETE FROM provisioning.engines WHERE name = 'history';
SELECT * FROM finish();
