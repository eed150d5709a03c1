-- An engine's capacity (spec section 11): its limits are kept by all the runs' workers
-- together, and its own refusals (429 with Retry-After) pause every run's requests to it,
-- costing no step an attempt. provisioning.metrics counts them as the engine saw them.

-- Limits are positive or null
\set lim cap2:tag
\set ignored `$SIMCTL :sim reset :lim:host`
SELECT test.new_test_engine(:'kind', :'lim') IS NOT NULL AS engine;
SELECT throws_ok(format('UPDATE provisioning.engines SET max_concurrent_requests = 0 WHERE name = %L', :'lim'),
                 '22023', NULL, :'kind' || ': max_concurrent_requests 0 is refused');
SELECT throws_ok(format('UPDATE provisioning.engines SET requests_per_second = -1 WHERE name = %L', :'lim'),
                 '22023', NULL, :'kind' || ': a negative requests_per_second is refused');

-- Runs without a point of sale: ERPNext opens one POS session per cashier and site.
-- At most 2 requests in flight, however many runs: the engine never holds more
UPDATE provisioning.engines SET max_concurrent_requests = 2 WHERE name = :'lim';
\set ignored `$SIMCTL :sim latency 30`
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Capped ' || i, :'lim', '{"include_demo_data": true, "provisioning_type": "BASIC"}' FROM generate_series(1, 4) i;
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 180)) FROM provisioning.tenants WHERE engine = :'lim'),
          '{COMPLETED}', :'kind' || ': every capped run completes');
\set capacity `$SIMCTL :sim capacity :lim:host`
SELECT cmp_ok((:'capacity'::jsonb->>'peak_in_flight')::int, '<=', 2,
              :'kind' || ': the engine never had more than max_concurrent_requests in flight');
-- a slot is held a little longer than the engine holds the request: at least its peak
SELECT ok((SELECT peak_in_flight BETWEEN (:'capacity'::jsonb->>'peak_in_flight')::int AND 2
             FROM provisioning.metrics WHERE engine = :'lim' AND step IS NULL),
          :'kind' || ': the metrics'' peak_in_flight is the engine''s peak at least, the cap at most');
\set ignored `$SIMCTL :sim latency 0`

-- At most 10 requests a second, a burst of one second's worth: no second holds more than 20
\set lim rate10:tag
\set ignored `$SIMCTL :sim reset :lim:host`
SELECT test.new_test_engine(:'kind', :'lim') IS NOT NULL AS engine;
UPDATE provisioning.engines SET requests_per_second = 10 WHERE name = :'lim';
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Rated ' || i, :'lim', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 3) i;
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 180)) FROM provisioning.tenants WHERE engine = :'lim'),
          '{COMPLETED}', :'kind' || ': every rate-limited run completes');
\set requests `$SIMCTL :sim requests :lim:host`
SELECT cmp_ok((SELECT max(n) FROM (SELECT count(*) AS n
                                     FROM jsonb_array_elements(:'requests'::jsonb) a,
                                          jsonb_array_elements(:'requests'::jsonb) b
                                    WHERE (b->>'t_start')::float8 >= (a->>'t_start')::float8
                                      AND (b->>'t_start')::float8 < (a->>'t_start')::float8 + 1
                                    GROUP BY a->>'seq') w),
              '<=', 20::bigint, :'kind' || ': no second saw more than the rate and one second''s burst');
SELECT cmp_ok((SELECT max((r->>'t_start')::float8) - min((r->>'t_start')::float8)
                 FROM jsonb_array_elements(:'requests'::jsonb) r),
              '>=', ((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb)) - 10) / 10.0 - 0.2::float8,
              :'kind' || ': the requests took as long as the rate makes them');

-- The engine limits itself: 3 requests a second, then 429 with Retry-After: 2. Every run
-- completes, no step failed nor took a second attempt, and no request came during a pause.
-- (Settings are left out of the attempts: on one ERPNext site, runs filling its Singles at
-- once may meet the engine's refusal of the later write, a retry of their own: case 26.)
\set lim throttled:tag
\set ignored `$SIMCTL :sim reset :lim:host`
SELECT test.new_test_engine(:'kind', :'lim') IS NOT NULL AS engine;
\set ignored `$SIMCTL :sim limits :lim:host '{"requests_per_second": 3, "burst": 3, "retry_after": 2}'`
-- what the metrics and the whole simulated engine counted before (some Odoo calls name no
-- database, so the engine's counters, not the database's, see all of this engine's requests;
-- no other engine has runs meanwhile)
SELECT coalesce((SELECT ARRAY[requests_sent, throttled, paused_ms] FROM provisioning.metrics
                  WHERE engine = :'lim' AND step IS NULL), '{0,0,0}') AS use_before,
       clock_timestamp() AS started \gset
\set engine_before `$SIMCTL :sim capacity '*'`
INSERT INTO provisioning.tenants (name, engine, settings)
SELECT 'Throttled ' || i, :'lim', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 3) i;
SELECT is((SELECT array_agg(DISTINCT test.wait_final(id, 240)) FROM provisioning.tenants WHERE engine = :'lim'),
          '{COMPLETED}', :'kind' || ': every run of an engine that refuses completes');
SELECT extract(epoch FROM clock_timestamp() - :'started'::timestamptz) * 1000 AS elapsed_ms \gset
\set engine_after `$SIMCTL :sim capacity '*'`
\set capacity `$SIMCTL :sim capacity :lim:host`
SELECT cmp_ok((:'capacity'::jsonb->>'refused')::int, '>', 0, :'kind' || ': the engine refused requests');
SELECT is((SELECT array_agg(DISTINCT (s->>'attempts')::int || ' ' || (s->>'status'))
             FROM provisioning.tenants t, jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
            WHERE t.engine = :'lim' AND s->>'status' <> 'skipped' AND s->>'step' <> 'step_5_settings'),
          (SELECT array_agg(DISTINCT '1 ' || (s->>'status'))
             FROM provisioning.tenants t, jsonb_array_elements(provisioning.provision_status(t.id)->'steps') s
            WHERE t.engine = :'lim' AND s->>'status' <> 'skipped' AND s->>'status' <> 'failed'),
          :'kind' || ': no step failed, each took one attempt');
\set requests `$SIMCTL :sim requests :lim:host`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) refused,
                                jsonb_array_elements(:'requests'::jsonb) r
            WHERE (refused->>'refused')::bool
              AND (r->>'t_start')::float8 > (refused->>'t_end')::float8 + 0.1
              AND (r->>'t_start')::float8 < (refused->>'t_end')::float8 + 2 - 0.1),
          0::bigint, :'kind' || ': no request came while the engine asked for a pause');

-- provisioning.metrics: every request the engine received and every refusal, the pauses it
-- asked for once each however many requests it refused at once
CREATE TEMP TABLE use_of_engine AS
SELECT requests_sent - (:'use_before'::bigint[])[1] AS sent, throttled - (:'use_before'::bigint[])[2] AS throttled,
       paused_ms - (:'use_before'::bigint[])[3] AS paused_ms
  FROM provisioning.metrics WHERE engine = :'lim' AND step IS NULL;
SELECT is((SELECT sent FROM use_of_engine),
          (:'engine_after'::jsonb->>'arrived')::bigint - (:'engine_before'::jsonb->>'arrived')::bigint,
          :'kind' || ': requests_sent counts every request the engine received');
SELECT is((SELECT throttled FROM use_of_engine),
          (:'engine_after'::jsonb->>'refused')::bigint - (:'engine_before'::jsonb->>'refused')::bigint,
          :'kind' || ': throttled counts every refusal');
SELECT ok((SELECT paused_ms BETWEEN 2000 AND :'elapsed_ms'::float8 + 2000 FROM use_of_engine),
          :'kind' || ': paused_ms holds a pause of the 2 s asked, and no more than the runs took (overlaps once)');
SELECT ok((WITH m AS (SELECT * FROM provisioning.metrics WHERE step IS NULL)
           SELECT t.requests_sent = sum(e.requests_sent) AND t.throttled = sum(e.throttled)
                  AND t.paused_ms = sum(e.paused_ms) AND t.peak_in_flight = max(e.peak_in_flight)
             FROM m t, m e
            WHERE t.engine IS NULL AND e.engine IS NOT NULL
            GROUP BY t.requests_sent, t.throttled, t.paused_ms, t.peak_in_flight),
          :'kind' || ': the total row sums the engines'' (peak_in_flight: the highest)');
DROP TABLE use_of_engine;
\set ignored `$SIMCTL :sim limits :lim:host '{}'`
