-- An engine answers a create with an error whose text is Latin-1 with a NUL byte in it
-- (ERPNext a 417 with "exception", Odoo its error envelope); ERPNext names the API user in
-- Latin-1 too. The run fails at the company, and the engine's text is stored with each bad
-- byte replaced by U+FFFD in the step list, the run log, the tenant's error and the metadata.
\set eng latin:tag
\set ignored `$SIMCTL :sim reset :eng:host`
SELECT 'Caf' || U&'\FFFD\FFFD' || ' au lait' AS bad \gset
\if :odoo
SELECT pg_temp.raw_fault('{"db": "latin_odoo", "method": "object.execute_kw res.company create"}', 200,
         convert_to('{"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error", '
                    '"data": {"name": "odoo.exceptions.UserError", "message": "Caf', 'UTF8')
         || '\xe900'::bytea || convert_to(' au lait"}}}', 'UTF8')) AS fault \gset
\else
SELECT pg_temp.raw_fault('{"site": "latin.localhost", "method": "GET", "path": "get_logged_user"}', 200,
                         convert_to('{"message": "José Admin"}', 'LATIN1')) AS fault \gset
\set ignored `$SIMCTL fault :'fault'`
SELECT pg_temp.raw_fault('{"site": "latin.localhost", "method": "POST", "path": "^/api/resource/Company$"}', 417,
         convert_to('{"exc_type": "ValidationError", "exception": "frappe.exceptions.ValidationError: Caf', 'UTF8')
         || '\xe900'::bytea || convert_to(' au lait"}', 'UTF8')) AS fault \gset
\endif
\set ignored `$SIMCTL :sim fault :'fault'`
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Latin Retail', :'eng') RETURNING id AS tenant \gset

SELECT is(test.wait_final(:'tenant'), 'FAILED', :'kind' || ': the run fails at the company');
SELECT ok((SELECT bool_and(pg_temp.readable(o.provisioning_steps::text) AND pg_temp.readable(o.provisioning_metadata::text)
                           AND pg_temp.readable(t.provisioning_error)
                           AND (SELECT coalesce(bool_and(pg_temp.readable(l.message)), true)
                                  FROM provisioning.run_log l WHERE l.run_id = o.id))
             FROM provisioning.tenant_onboarding o JOIN provisioning.tenants t ON t.id = o.tenant_id
            WHERE o.tenant_id = :'tenant'),
          :'kind' || ': the step list, metadata, run log and tenant error read in another encoding');
SELECT ok((SELECT e->>'message' FROM provisioning.tenant_onboarding o, jsonb_array_elements(o.provisioning_steps) e
            WHERE o.tenant_id = :'tenant' AND e->>'step' = 'step_2_company') LIKE '%' || :'bad' || '%',
          :'kind' || ': the step list keeps the message with the bad bytes replaced');
SELECT ok(EXISTS (SELECT FROM provisioning.run_log WHERE tenant_id = :'tenant' AND step = 'step_2_company'
                     AND message LIKE '%' || :'bad' || '%'),
          :'kind' || ': so does the run log');
SELECT ok((SELECT provisioning_error FROM provisioning.tenants WHERE id = :'tenant') LIKE 'step_2_company: %' || :'bad' || '%',
          :'kind' || ': and the tenant''s error');
\if :odoo
\else
SELECT is((SELECT provisioning_metadata->>'api_user' FROM provisioning.tenant_onboarding WHERE tenant_id = :'tenant'),
          'Jos' || U&'\FFFD' || ' Admin', :'kind' || ': a name from an answer is stored repaired in the metadata');
\endif
\set ignored `$SIMCTL :sim clear`
