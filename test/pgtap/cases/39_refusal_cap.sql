-- An engine that refuses every request (429, Retry-After: 0): each request is sent again after
-- each refusal, at most 10 times in a row, then its step fails for a transient cause (and is
-- retried as such: here provisioning.http_retries is 0), so the run ends instead of waiting
-- forever.
\set eng refuses:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
\if :odoo
\set ignored `$SIMCTL odoo fault '{"db": "refuses_odoo", "action": "status", "status": 429, "retry_after": 0, "times": 1000}'`
\else
\set ignored `$SIMCTL fault '{"site": "refuses.localhost", "action": "status", "status": 429, "retry_after": 0, "times": 1000}'`
\endif
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Refused Retail', :'eng', '{"provisioning_type": "BASIC"}') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant', 90), 'FAILED', :'kind' || ': a run whose engine refuses everything ends FAILED');
SELECT is((SELECT (s->>'attempts') || ' ' || (s->>'message' ~* '429|too many')
             FROM jsonb_array_elements(provisioning.provision_status(:'tenant')->'steps') s WHERE s->>'status' = 'failed'),
          '1 true', :'kind' || ': its step failed in one attempt, saying the engine refused');
\set requests `$SIMCTL :sim requests :eng:host`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE (r->>'status')::int = 429),
          10::bigint, :'kind' || ': after the engine refused the same request 10 times');
\set ignored `$SIMCTL :sim clear`
