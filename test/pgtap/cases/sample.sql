-- Runs an end-to-end case (test/pgtap/cases/NAME.sql, named by the variable "case") for the
-- test-only engine kind sample, after cases/engines.sql ran it for ERPNext and Odoo: the
-- proof of the engine boundary (src/engines/sample/, one folder and one registry line,
-- known to the test cluster through provisioning.test_engine_kinds). Its four steps keep the
-- contract's keys (engine check, company, warehouses, customer) on a site of the simulated
-- ERPNext, whose API it speaks; \elif :sample gives it its own expectations where the
-- engines' documents differ.
\set kind sample
\set odoo false
\set sample true
\set sim ''
\set tag _sample
\set host .localhost
\ir :case.sql
