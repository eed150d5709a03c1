-- Concurrency and load: fifty sessions starting one tenant at the same moment yield
-- exactly one run (the others get PT409); a thousand tenants inserted in one statement
-- all finish, each run once, never more than provisioning.max_workers at a time.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(6);

SET provisioning.auto_start = off;
\set ignored `$SIMCTL reset race.localhost`
-- the run stays busy (its first request held 2.5 s) until every late start has been refused:
-- a run that ended before a late session got its turn would let that one start a second run
\set ignored `$SIMCTL fault '{"site": "race.localhost", "method": "GET", "path": "frappe.auth.get_logged_user", "action": "delay", "delay_ms": 2500, "times": 1}'`
SELECT test.new_engine('race') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Race Retail', 'race') RETURNING id AS tenant \gset
\set outcome `$CONCURRENT_START :tenant 50`
SELECT is(:'outcome'::text, '1 49 0', 'one start queued a run, 49 were refused with PT409');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant'), 1::bigint,
          'exactly one run exists');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'and it completes');
RESET provisioning.auto_start;

-- A thousand tenants in one statement, on sites of their own.
SELECT count(test.new_engine('bulk' || i)) FROM generate_series(1, 1000) i;
INSERT INTO provisioning.tenants (name, engine) SELECT 'Bulk ' || i, 'bulk' || i FROM generate_series(1, 1000) i;
CREATE TEMP TABLE concurrency (peak integer);
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '4 min';
    running  integer;
    busy     bigint;
    max_seen integer := 0;
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT count(*) INTO running FROM pg_stat_activity WHERE backend_type = 'provisioning run';
        max_seen := greatest(max_seen, running);
        SELECT count(*) INTO busy FROM provisioning.tenants
         WHERE engine LIKE 'bulk%' AND provisioning_status = 'PROVISIONING';
        EXIT WHEN busy = 0;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'TIMEOUT after 4 min waiting for the 1000 bulk tenants to be provisioned: % still PROVISIONING', busy;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    INSERT INTO concurrency VALUES (max_seen);
END
$$;
SELECT is((SELECT count(*) FROM provisioning.tenants WHERE engine LIKE 'bulk%' AND provisioning_status = 'PROVISIONED'),
          1000::bigint, 'all 1000 tenants are provisioned');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding o JOIN provisioning.tenants t ON t.id = o.tenant_id
            WHERE t.engine LIKE 'bulk%'), 1000::bigint, 'each by exactly one run');
SELECT cmp_ok((SELECT peak FROM concurrency), '<=', current_setting('provisioning.max_workers')::int,
              'never more than provisioning.max_workers runs at once');

SELECT * FROM finish();
