-- provision_cancel (cases/31_cancel.sql for each engine kind); the NOTIFY of a cancelled run;
-- retry_due() leaves a cancelled run alone (a cancel is a user's decision).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 23 + 4);
\set case 31_cancel
\ir cases/engines.sql

-- NOTIFY provisioning: a session that listens hears its own commit's notifications
\set ignored `$SIMCTL reset haltn.localhost`
SELECT test.new_engine('haltn') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Halted Notified', 'haltn') RETURNING id AS tenant \gset
RESET provisioning.auto_start;
SELECT format('LISTEN provisioning; BEGIN; SELECT provisioning.provision_start(%L) IS NOT NULL;'
              ' SELECT provisioning.provision_cancel(%L) IS NOT NULL; COMMIT;', :'tenant', :'tenant') AS listen \gset
\set heard `psql -X -At -c :'listen' 2>&1 | sed -n 's/.*with payload "\(.*\)" received.*/\1/p' | tr '\n' ','`
SELECT is((SELECT array_agg(p->>'status' ORDER BY p->>'status')
             FROM jsonb_array_elements(('[' || rtrim(:'heard', ',') || ']')::jsonb) p
            WHERE p->>'tenant_id' = :'tenant' AND p->>'step' IS NULL),
          '{CANCELLED,PENDING}', 'NOTIFY provisioning: the run queued, then CANCELLED');

-- retry_due() does not retry a cancelled run, however long ago
UPDATE provisioning.tenant_onboarding SET finished_at = now() - interval '1 day' WHERE tenant_id = :'tenant';
SELECT is(provisioning.provision_status(:'tenant')->>'status', 'CANCELLED', 'the run was cancelled');
SELECT provisioning.retry_due() IS NOT NULL AS retried;
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant'), 1::bigint,
          'retry_due() leaves a cancelled run alone');
SELECT is((SELECT cancelled FROM provisioning.metrics WHERE engine IS NULL AND step IS NULL),
          (SELECT count(*) FROM provisioning.tenant_onboarding WHERE status = 'CANCELLED'
              AND finished_at >= now() - interval '1 day'),
          'the metrics count the cancelled runs of the window');

\set ignored `$SIMCTL clear`
SELECT * FROM finish();
