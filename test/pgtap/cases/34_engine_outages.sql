-- An engine's outages (spec section 11). At a run's first step: the run that meets it ends
-- NOT_PROVISIONED, the runs started while it lasts end so at once without a request, and once
-- the engine answers (the launcher probes it) every one of them is queued again, once, and
-- completes without anyone asking. In the middle of runs: they wait for the engine and go on
-- where they were, no step failed.

-- At the first step
\set eng outage_start:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
\set ignored `$SIMCTL :sim offline true`
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Outage First', :'eng', '{"provisioning_type": "BASIC"}') RETURNING id AS first \gset
SELECT is(test.wait_final(:'first'), 'NOT_PROVISIONED', :'kind' || ': the run that meets the outage is NOT_PROVISIONED');
SELECT test.wait_true('the outage of ' || :'eng' || ' recorded',
                      format('SELECT EXISTS (SELECT FROM provisioning.engine_outages WHERE engine = %L AND ended_at IS NULL)', :'eng'));
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Outage Later ' || i, :'eng', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 2) i;
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id)) FROM provisioning.tenants
            WHERE engine = :'eng' AND name LIKE 'Outage Later %'),
          '{NOT_PROVISIONED}', :'kind' || ': runs started during the outage end NOT_PROVISIONED');
SELECT is((SELECT array_agg(DISTINCT (s->>'attempts') || ' ' || (s->>'message' ~ 'unreachable since \d{4}-'))
             FROM provisioning.tenants t, jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
            WHERE t.engine = :'eng' AND t.name LIKE 'Outage Later %' AND s->>'status' = 'failed'),
          '{"1 true"}', :'kind' || ': at once, in one attempt, saying since when the engine is offline');
SELECT cmp_ok((SELECT max((s->>'duration_ms')::float8)
                 FROM provisioning.tenants t, jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
                WHERE t.engine = :'eng' AND t.name LIKE 'Outage Later %' AND s->>'status' = 'failed'),
              '<', 500::float8, :'kind' || ': without waiting for a connection');
\set ignored `$SIMCTL :sim offline false`
SELECT is((SELECT array_agg(DISTINCT test.wait_tenant(id, 'PROVISIONED', 60)) FROM provisioning.tenants
            WHERE engine = :'eng'),
          '{PROVISIONED}', :'kind' || ': once the engine answers, every run it turned away is queued again and completes');
SELECT is((SELECT array_agg(DISTINCT n) FROM (SELECT count(*) AS n FROM provisioning.tenants t
                                               JOIN provisioning.tenant_onboarding o ON o.tenant_id = t.id
                                              WHERE t.engine = :'eng' GROUP BY t.id) x),
          '{2}'::bigint[], :'kind' || ': once each');
SELECT is((SELECT array_agg(DISTINCT a.actor || ' ' || a.action) FROM provisioning.audit a
             JOIN provisioning.tenants t ON t.id = a.tenant_id
            WHERE t.engine = :'eng' AND a.action NOT IN ('auto_start')),
          '{"engine_recovered engine_recovered"}', :'kind' || ': audited as the engine''s recovery, nobody asked');
SELECT is((SELECT (ended_at IS NOT NULL) || ' ' || runs_requeued FROM provisioning.engine_outages WHERE engine = :'eng'),
          'true 3', :'kind' || ': the outage ended, with the runs it queued again');

-- In the middle of runs: they wait, and go on where they were
\set eng outage_mid:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
\set ignored `$SIMCTL :sim latency 150`
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Outage Middle ' || i, :'eng', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 3) i;
SELECT test.wait_true('the runs on ' || :'eng' || ' past their first step',
                      format($q$SELECT count(*) = 3 FROM provisioning.tenants t WHERE t.engine = %L
                                  AND provisioning.provision_status(t.id)->'steps'->0->>'status' IN ('completed', 'exists')$q$, :'eng'), 60);
\set ignored `$SIMCTL :sim offline true`
SELECT test.wait_true('the outage of ' || :'eng' || ' recorded',
                      format('SELECT EXISTS (SELECT FROM provisioning.engine_outages WHERE engine = %L AND ended_at IS NULL)', :'eng'));
SELECT is((SELECT array_agg(DISTINCT (provisioning.provision_status(id)->>'status') || ' ' ||
                                     (provisioning.provision_status(id)->'waiting'->>'reason'))
             FROM provisioning.tenants WHERE engine = :'eng'),
          '{"IN_PROGRESS engine_offline"}', :'kind' || ': the runs wait for their engine, and say so');
SELECT is((SELECT waiting_engine_offline || ' ' || (offline_since < now()) FROM provisioning.metrics
            WHERE engine = :'eng' AND step IS NULL),
          '3 true', :'kind' || ': the metrics count them, and how long the engine is down');
-- a few probes come and go unanswered meanwhile
SELECT test.wait_true('three probe intervals of the outage of ' || :'eng',
                      format($q$SELECT since < clock_timestamp() - interval '1.5 s' FROM provisioning.engine_outages
                                 WHERE engine = %L AND ended_at IS NULL$q$, :'eng'));
\set ignored `$SIMCTL :sim offline false`
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 90)) FROM provisioning.tenants WHERE engine = :'eng'),
          '{COMPLETED}', :'kind' || ': once it answers they go on and complete');
SELECT is((SELECT count(*) FROM provisioning.tenants t, jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
            WHERE t.engine = :'eng' AND s->>'status' = 'failed'),
          0::bigint, :'kind' || ': no step failed');
-- the outage's wait is no attempt: only a request cut off in flight may have cost one
SELECT cmp_ok((SELECT sum((s->>'attempts')::int - 1) FROM provisioning.tenants t,
                      jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
                WHERE t.engine = :'eng' AND s->>'attempts' IS NOT NULL),
              '<=', 3::bigint, :'kind' || ': the wait cost no attempt');
SELECT is((SELECT count(*) FROM provisioning.tenant_onboarding o JOIN provisioning.tenants t ON t.id = o.tenant_id
            WHERE t.engine = :'eng'),
          3::bigint, :'kind' || ': in the runs they were in');
\set ignored `$SIMCTL :sim latency 0`
