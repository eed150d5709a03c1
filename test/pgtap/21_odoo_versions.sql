-- Odoo 16 and 18: the differences the driver meets (16: the chart template is a record and
-- try_loading a method of it, chart_template_id, open_session_cb; 18: accounts link to
-- companies through company_ids, a new company has no warehouse, so no "Shop" config comes
-- with the chart). A run completes, holds one of everything, and a second run finds it all.
-- The simulated Odoo serves one version at a time and forgets its databases on a switch:
-- it is set back to 17 at the end.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 5);

\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 16}'`
\set v 16
\set chart '["1"]'
\set warehouses 3
\set methods 3
\ir cases/odoo_version.sql

\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 18}'`
\set v 18
\set chart '["generic_coa"]'
\set warehouses 2
\set methods 1
\ir cases/odoo_version.sql

\set ignored `curl -sSf --max-time 30 -X POST "$ODOO_SIM_CONTROL/version" -d '{"version": 17}'`
SELECT * FROM finish();
