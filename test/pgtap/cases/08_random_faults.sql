-- A third of all engine calls fail at random (503, 502, 429, connection resets and a few
-- timeouts), for 100 tenants on 100 engines: all reach COMPLETED, nothing is created twice,
-- and no step used more than provisioning.http_retries retries.
ALTER SYSTEM SET provisioning.http_retries = 10;
-- nothing here applies a write late (resets and timeouts drop it unapplied): settle quickly
ALTER SYSTEM SET provisioning.write_settle_ms = 200;
SELECT pg_reload_conf();
\set ignored `$SIMCTL :sim fault '{"action": "status", "status": 503, "probability": 0.10, "times": -1, "seed": 1}'`
\set ignored `$SIMCTL :sim fault '{"action": "status", "status": 502, "probability": 0.10, "times": -1, "seed": 2}'`
\set ignored `$SIMCTL :sim fault '{"action": "status", "status": 429, "probability": 0.08, "times": -1, "seed": 3}'`
\set ignored `$SIMCTL :sim fault '{"action": "reset", "probability": 0.08, "times": -1, "seed": 4}'`
\set ignored `$SIMCTL :sim fault '{"action": "timeout", "delay_ms": 3500, "probability": 0.005, "times": -1, "seed": 5}'`

SELECT count(test.new_test_engine(:'kind', 'rand' || i || :'tag')) FROM generate_series(1, 100) i;
INSERT INTO provisioning.tenants (name, engine) SELECT 'Random ' || i, 'rand' || i || :'tag' FROM generate_series(1, 100) i;

CREATE TEMP TABLE finals AS
SELECT t.id, test.wait_final(t.id, 240) AS status FROM provisioning.tenants t WHERE t.engine LIKE 'rand%' || :'tag';
\set ignored `$SIMCTL :sim clear`
ALTER SYSTEM RESET provisioning.http_retries;
ALTER SYSTEM RESET provisioning.write_settle_ms;
SELECT pg_reload_conf();

SELECT is((SELECT count(*) FROM finals WHERE status = 'COMPLETED'), 100::bigint, :'kind' || ': all 100 tenants are provisioned');
SELECT cmp_ok((SELECT max((s->>'attempts')::int) FROM finals f,
                      jsonb_array_elements(provisioning.provision_status(f.id)->'steps') s), '<=', 11,
              :'kind' || ': no step took more than 1 + http_retries attempts');
SELECT ok(EXISTS (SELECT FROM finals f, provisioning.provision_logs(f.id) l WHERE l.status = 'retrying'),
          :'kind' || ': steps were retried');
\if :odoo
\set duplicates `for i in $(seq 1 100); do $SIMCTL odoo summary rand${i}_odoo; echo; done | python3 -c 'import json,sys; want={"res.company":1,"stock.warehouse":3,"res.partner Walk-In Customer":1,"pos.config":1,"pos.session":1,"pos.session opened":1,"product.template":0}; print(sum(1 for l in sys.stdin if l.strip() and any(json.loads(l)[k]!=v for k,v in want.items())))'`
\else
\set duplicates `for i in $(seq 1 100); do $SIMCTL summary rand$i.localhost; echo; done | python3 -c 'import json,sys; want={"Fiscal Year":1,"Company":1,"Warehouse":7,"Customer":1,"POS Profile":1,"POS Opening Entry":1,"Item":0}; print(sum(1 for l in sys.stdin if l.strip() and any(json.loads(l)[k]!=v for k,v in want.items())))'`
\endif
SELECT is(:duplicates, 0, :'kind' || ': every engine holds exactly one of everything');
DROP TABLE finals;
