-- One run left with an unanswered create, then its retry by :retry (cases/28_retry_settles.sql).
\set eng settle_:retry:tag
\set ignored `$SIMCTL :sim reset :eng:host`
\if :odoo
\set create_fault '{"db": "settle_' :retry '_odoo", "method": "object.execute_kw res.partner create", "action": "delay", "delay_ms": 4500}'
\set lookup_fault '{"db": "settle_' :retry '_odoo", "method": "object.execute_kw res.partner search_read", "action": "status", "status": 500, "times": -1}'
\set create_sent 'r.get("model") == "res.partner" and r.get("model_method") == "create"'
\else
\set create_fault '{"site": "settle_' :retry '.localhost", "method": "POST", "path": "^/api/resource/Customer$", "action": "delay", "delay_ms": 4500}'
\set lookup_fault '{"site": "settle_' :retry '.localhost", "method": "GET", "path": "^/api/resource/Customer", "action": "status", "status": 500, "times": -1}'
\set create_sent 'r.get("method") == "POST" and r.get("doctype") == "Customer"'
\endif
\set ignored `$SIMCTL :sim fault :'create_fault'`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Settle ' || :'retry' || :'tag', :'eng') RETURNING id AS tenant \gset
-- once the create is on its way (the engine holds it), every customer lookup fails
\set ignored `for i in $(seq 1 600); do $SIMCTL :sim requests :eng:host | python3 -c 'import json, sys; sys.exit(not any(eval(sys.argv[1], {"r": r}) for r in json.load(sys.stdin)))' :'create_sent' && break; sleep 0.05; done; $SIMCTL :sim fault :'lookup_fault'`
SELECT is(test.wait_final(:'tenant', 60), 'FAILED', :'kind' || ', ' || :'retry' || ': the run fails while its customer create is unanswered');
SELECT is((SELECT count(*) FROM provisioning.unsettled_creates WHERE tenant_id = :'tenant'), 1::bigint,
          :'kind' || ', ' || :'retry' || ': the unanswered create is kept past its run');
\set ignored `$SIMCTL :sim clear`
SELECT CASE :'retry' WHEN 'provision_retry' THEN provisioning.provision_retry(:'tenant')->>'status'
                     ELSE (SELECT CASE WHEN provisioning.retry_due() >= 1 THEN 'PENDING' END) END AS retried \gset
SELECT is(:'retried'::text, 'PENDING', :'kind' || ', ' || :'retry' || ': a retry is queued at once');
SELECT is(test.wait_final(:'tenant', 60), 'COMPLETED', :'kind' || ', ' || :'retry' || ': the retry completes');
-- the count once the engine applied the held create (its log entry then has a status)
\set ignored `for i in $(seq 1 600); do $SIMCTL :sim requests :eng:host | python3 -c 'import json, sys; sys.exit(not any(eval(sys.argv[1], {"r": r}) and r.get("fault") == "delay" and r.get("status") for r in json.load(sys.stdin)))' :'create_sent' && break; sleep 0.05; done`
\set customers `$SIMCTL :sim summary :eng:host`
\if :odoo
SELECT is((:'customers'::jsonb->>'res.partner Walk-In Customer')::int, 1, :'kind' || ', ' || :'retry' || ': the engine holds one Walk-In Customer');
\else
SELECT is((:'customers'::jsonb->>'Customer')::int, 1, :'kind' || ', ' || :'retry' || ': the engine holds one Walk-In Customer');
\endif
