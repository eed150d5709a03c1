-- Included by 22_round_trips.sql once per fault action (:action): drop_after_commit (the
-- engine applies the request and drops the connection) or delay (it answers at 3.5 s, after
-- the client's 3 s timeout; provisioning.write_settle_ms is 6 s). The company's POST is
-- answered, so the run knows the company is its own and sends the insert_many of the
-- warehouses, the POS profile and the opening entry without a lookup first; those and the
-- items' insert_many get the fault. Each is looked for until it appears, never sent again.
SELECT json_build_object('site', :'eng' || '.localhost', 'method', 'POST',
                         'path', 'insert_many$|^/api/resource/POS (Profile|Opening Entry)$',
                         'action', :'action', 'delay_ms', 3500, 'times', 4)::text AS fault \gset
\set ignored `$SIMCTL reset :eng.localhost`
\set ignored `$SIMCTL fault :'fault'`
SELECT test.new_engine(:'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES (:'eng' || ' Retail', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant', 120), 'COMPLETED', :'action' || ': the run completes');
\set requests `$SIMCTL requests :eng.localhost`
SELECT provisioning.provision_status(:'tenant')->>'correlation_id' AS run \gset
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r->>'fault' = :'action'),
          4::bigint, :'action' || ': four creates got the fault');
-- (in any order: held requests make the engine slow, so independent steps run at once)
SELECT is((SELECT array_agg(c ORDER BY c) FROM unnest(test.erpnext_calls(:'requests', :'run')) c WHERE c ~ '^(POST|PUT)'),
          (SELECT array_agg(c ORDER BY c) FROM unnest(ARRAY[
    'POST /api/resource/Fiscal%20Year', 'POST /api/resource/Company',
    'POST /api/method/frappe.client.insert_many Warehouse',
    'PUT /api/resource/Stock%20Settings/Stock%20Settings', 'PUT /api/resource/Selling%20Settings/Selling%20Settings',
    'POST /api/method/frappe.client.insert_many Item',
    'POST /api/resource/Customer', 'POST /api/resource/POS%20Profile', 'POST /api/resource/POS%20Opening%20Entry']) c),
    :'action' || ': every write was sent once; what got no answer in time was looked for, not sent again');
\ir one_of_everything.sql
\set ignored `$SIMCTL clear`
