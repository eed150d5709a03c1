-- The extension's own rows: the operations, and the engine kinds with a step catalog per
-- operation as the registered drivers declare them (src/engines/<kind>/,
-- src/engine_catalog.c). Every kind provisions with the same ten step keys, so a status
-- document looks the same for either. The worker walks a run's steps and asks the engine's
-- driver for each step's implementation in the run's operation, from the same list the
-- catalog comes from.

-- What a run may do (FULL_POS is the default). A driver's catalog of an operation not listed
-- here is refused (step_catalog's foreign key). The lifecycle operations' names are fixed
-- (src/status.c's operation_names, which the state machine reads). Provisioning starts from
-- any status but SUSPENDED and OFFBOARDED (resumed instead); PROVISIONING with no run active
-- (_check_operation refuses one that is) is a status no run will end, which provisioning
-- mends. Suspending needs a provisioned tenant, PARTIAL too (only a non-critical step failed: its point of sale is
-- there); a FAILED or never provisioned one has no point of sale to close.
INSERT INTO provisioning.operations (operation, position, description, provisions, admin_only, allowed_from) VALUES
    ('FULL_POS', 0, 'provisioning with the point of sale: a POS profile and an open session', true, false,
     '{NOT_PROVISIONED,PROVISIONING,PROVISIONED,PARTIAL,FAILED}'),
    ('BASIC', 1, 'provisioning without the point of sale', true, false,
     '{NOT_PROVISIONED,PROVISIONING,PROVISIONED,PARTIAL,FAILED}'),
    ('VERIFY', 2, 'reads back what the provisioning recorded; writes nothing', false, false,
     '{PROVISIONED,PARTIAL}'),
    ('SUSPEND', 3, 'closes the open point-of-sale session and disables the point of sale', false, true,
     '{PROVISIONED,PARTIAL}'),
    ('RESUME', 4, 'enables the point of sale and opens a new session on it', false, true,
     '{SUSPENDED,OFFBOARDED}'),
    ('OFFBOARD', 5, 'closes the point of sale, exports the company''s documents, archives what is the tenant''s alone',
     false, true, '{PROVISIONED,PARTIAL,FAILED,SUSPENDED}');

CREATE FUNCTION provisioning._driver_kinds(OUT kind text, OUT setting_defaults jsonb, OUT company_names text)
    RETURNS SETOF record
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'provisioning_driver_kinds';

-- depends_on is the critical path: a run starts a step once every step it depends on has
-- settled, so steps that do not depend on each other run at the same time
-- (provisioning.max_parallel_steps at most). Each entry names the steps whose results the
-- step reads (a document in the engine, or a reference in the run's metadata).
CREATE FUNCTION provisioning._driver_catalog(OUT engine_kind text, OUT operation text, OUT step text,
                                             OUT "position" integer, OUT critical boolean, OUT condition text,
                                             OUT description text, OUT depends_on text[])
    RETURNS SETOF record
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'provisioning_driver_catalog';

INSERT INTO provisioning.engine_kinds (kind, setting_defaults, company_names)
SELECT kind, setting_defaults, company_names FROM provisioning._driver_kinds();

INSERT INTO provisioning.step_catalog (engine_kind, operation, step, position, critical, condition, description,
                                       depends_on)
SELECT engine_kind, operation, step, position, critical, condition, description, depends_on
  FROM provisioning._driver_catalog();
