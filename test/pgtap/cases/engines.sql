-- Runs an end-to-end case (test/pgtap/cases/NAME.sql, named by the variable "case") once
-- per engine kind, with these variables set for its body:
--   kind  erpnext | odoo
--   odoo  false | true, for \if
--   sample  false (true in cases/sample.sql), for \elif
--   sim   simctl's word for the engine's simulator ('' or odoo)
--   tag   the suffix of the case's engine names ('' or _odoo: engine names are unique)
--   host  what turns an engine name into its simulator's site (.localhost) or database ('')
-- The ERPNext run is the case as it always was; the Odoo run asserts the same contract.
\set kind erpnext
\set odoo false
\set sample false
\set sim ''
\set tag ''
\set host .localhost
\ir :case.sql
\set kind odoo
\set odoo true
\set sim odoo
\set tag _odoo
\set host ''
\ir :case.sql
