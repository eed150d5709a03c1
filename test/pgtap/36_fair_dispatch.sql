-- Fair dispatch (spec section 11): one engine's backlog never holds every worker while
-- another engine's runs wait. A slow ERPNext limited to one request at a time gets a backlog
-- of runs; an Odoo's runs queued after them overtake it, the slow engine never has more
-- runs in progress than its max_concurrent_requests, and its queued runs say why they wait.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(7);

\set ignored `$SIMCTL reset fair_slow.localhost`
\set ignored `$SIMCTL odoo reset fair_fast_odoo`
SELECT test.new_engine('fair_slow') IS NOT NULL AS engine;
SELECT test.new_odoo_engine('fair_fast_odoo') IS NOT NULL AS engine;
UPDATE provisioning.engines SET max_concurrent_requests = 1 WHERE name = 'fair_slow';
\set ignored `$SIMCTL latency 100`

INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Fair Slow ' || i, 'fair_slow', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 8) i;
SELECT test.wait_true('a queued run of fair_slow held back by its limit',
                      $q$SELECT bool_or(provisioning.provision_status(id)->'waiting'->>'reason' = 'engine_limit')
                           FROM provisioning.tenants WHERE engine = 'fair_slow'$q$);
SELECT pass('a queued run of the limited engine says it waits for its engine''s limit');
SELECT cmp_ok((SELECT waiting_engine_limit FROM provisioning.metrics WHERE engine = 'fair_slow' AND step IS NULL),
              '>', 0::bigint, 'the metrics count the runs waiting for the engine''s limit');
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Fair Fast ' || i, 'fair_fast_odoo', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 3) i;

SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 60)) FROM provisioning.tenants WHERE engine = 'fair_fast_odoo'),
          '{COMPLETED}', 'the other engine''s runs complete');
SELECT cmp_ok((SELECT count(*) FROM provisioning.tenants t JOIN provisioning.tenant_onboarding o ON o.tenant_id = t.id
                WHERE t.engine = 'fair_slow' AND o.status = 'PENDING'),
              '>', 0::bigint, 'while the slow engine still has runs queued');
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 120)) FROM provisioning.tenants WHERE engine = 'fair_slow'),
          '{COMPLETED}', 'the slow engine''s runs complete too');

-- each of the other engine's runs started before some run of the backlog queued ahead of it
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding f JOIN provisioning.tenants ft ON ft.id = f.tenant_id
            WHERE ft.engine = 'fair_fast_odoo'
              AND NOT EXISTS (SELECT FROM provisioning.tenant_onboarding s JOIN provisioning.tenants st ON st.id = s.tenant_id
                               WHERE st.engine = 'fair_slow' AND s.created_at < f.created_at
                                 AND s.started_at > f.started_at)),
          0::bigint, 'the other engine''s runs overtook the backlog');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding a JOIN provisioning.tenants at ON at.id = a.tenant_id,
                                provisioning.tenant_onboarding b JOIN provisioning.tenants bt ON bt.id = b.tenant_id
            WHERE at.engine = 'fair_slow' AND bt.engine = 'fair_slow' AND a.id < b.id
              AND a.started_at < b.finished_at AND b.started_at < a.finished_at),
          0::bigint, 'the limited engine never had two runs in progress at once');
\set ignored `$SIMCTL latency 0`
SELECT * FROM finish();
