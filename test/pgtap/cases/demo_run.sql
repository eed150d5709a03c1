-- A tenant :name with demo items on a fresh engine :eng (:kind), run to its end; its
-- engine's request log in :requests. :what prefixes the test's description.
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES (:'name', :'eng', '{"include_demo_data": true}') RETURNING id AS tenant \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', :'kind' || ': ' || :'what' || 'the run completes');
\set requests `$SIMCTL :sim requests :eng:host`
