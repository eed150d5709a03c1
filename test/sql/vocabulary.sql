-- One vocabulary: the statuses the C code knows (status.h, through _vocabulary()) are the
-- ones the tables allow and the spec names.
SELECT provisioning._vocabulary();

-- run statuses: tenant_onboarding.status's check constraint
SELECT (SELECT array_agg(v ORDER BY v) FROM jsonb_array_elements_text(provisioning._vocabulary()->'run') v)
     = (SELECT array_agg(m[1] ORDER BY m[1]) FROM regexp_matches(pg_get_constraintdef(c.oid), '''(\w+)''', 'g') m)
       AS run_statuses_match
  FROM pg_constraint c
 WHERE c.conrelid = 'provisioning.tenant_onboarding'::regclass AND pg_get_constraintdef(c.oid) LIKE '%(status %';

-- tenant statuses: tenants.provisioning_status's check constraint
SELECT (SELECT array_agg(v ORDER BY v) FROM jsonb_array_elements_text(provisioning._vocabulary()->'tenant') v)
     = (SELECT array_agg(m[1] ORDER BY m[1]) FROM regexp_matches(pg_get_constraintdef(c.oid), '''(\w+)''', 'g') m)
       AS tenant_statuses_match
  FROM pg_constraint c
 WHERE c.conrelid = 'provisioning.tenants'::regclass AND pg_get_constraintdef(c.oid) LIKE '%provisioning_status%';

-- The state machine's rules as SQL asks them (src/run_state.c): which step statuses are done,
-- which tenant status each run status leaves (a tenant FAILED before the run: CANCELLED gives it
-- back), progress at its edges.
SELECT s AS step_status, provisioning._step_is_done(s) AS done
  FROM jsonb_array_elements_text(provisioning._vocabulary()->'step') s;
SELECT r AS run_status, provisioning._tenant_status_of_run(r, 'FAILED', 'FULL_POS') AS tenant_status
  FROM jsonb_array_elements_text(provisioning._vocabulary()->'run') r;
-- a lifecycle run leaves the tenant's status as it was, unless it completed: SUSPEND leaves
-- SUSPENDED, RESUME PROVISIONED, OFFBOARD OFFBOARDED, VERIFY never changes it
SELECT r AS run_status,
       provisioning._tenant_status_of_run(r, 'PARTIAL', 'VERIFY') AS verify_partial,
       provisioning._tenant_status_of_run(r, 'PROVISIONED', 'SUSPEND') AS suspend_provisioned,
       provisioning._tenant_status_of_run(r, 'SUSPENDED', 'RESUME') AS resume_suspended,
       provisioning._tenant_status_of_run(r, 'SUSPENDED', 'OFFBOARD') AS offboard_suspended
  FROM jsonb_array_elements_text(provisioning._vocabulary()->'run') r;
-- the lifecycle operations the state machine knows by name are the operations that do not
-- provision, and the statuses each starts from are tenant statuses
SELECT (SELECT array_agg(v ORDER BY v) FROM jsonb_array_elements_text(provisioning._vocabulary()->'operation') v)
     = (SELECT array_agg(operation ORDER BY operation) FROM provisioning.operations WHERE NOT provisions)
       AS lifecycle_operations_match;
SELECT operation, provisions, admin_only, allowed_from,
       (SELECT count(*) FROM unnest(allowed_from) s WHERE NOT provisioning._vocabulary()->'tenant' ? s) AS unknown_statuses
  FROM provisioning.operations ORDER BY position;
SELECT provisioning._progress(0, 10, 'IN_PROGRESS') AS none, provisioning._progress(10, 10, 'PARTIAL') AS all_but_completed,
       provisioning._progress(10, 10, 'COMPLETED') AS completed, provisioning._progress(3, 0, 'FAILED') AS no_steps;
-- and the catalog is what the drivers declare, per engine kind and operation
SELECT engine_kind, operation,
       count(*) FILTER (WHERE source = 'step_catalog') AS only_in_step_catalog,
       count(*) FILTER (WHERE source = 'drivers') AS only_in_drivers
  FROM ((SELECT 'step_catalog' AS source, * FROM (SELECT engine_kind, operation, step, position, critical, condition,
                                                         description, depends_on FROM provisioning.step_catalog
                                                  EXCEPT SELECT * FROM provisioning._driver_catalog()) c)
        UNION ALL
        (SELECT 'drivers', * FROM (SELECT * FROM provisioning._driver_catalog()
                                   EXCEPT SELECT engine_kind, operation, step, position, critical, condition,
                                                 description, depends_on FROM provisioning.step_catalog) d)) x
 GROUP BY 1, 2;

-- Every production kind has a catalog of each provisioning operation: FULL_POS's ten steps,
-- BASIC the same but its point-of-sale ones; the lifecycle operations have the steps the
-- kind's driver declares (none: refused for its tenants, 0A000). A test cluster's
-- test-only kind: 01_happy_path.sql
SELECT k.kind, o.operation, count(c.step) AS steps,
       count(*) FILTER (WHERE c.condition = 'pos') AS pos_steps,
       string_agg(c.step, ' ' ORDER BY c.position) FILTER (WHERE c.position >= 7) AS last_steps
  FROM provisioning.engine_kinds k
 CROSS JOIN provisioning.operations o
  LEFT JOIN provisioning.step_catalog c ON c.engine_kind = k.kind AND c.operation = o.operation
 WHERE k.kind IN ('erpnext', 'odoo')
 GROUP BY 1, 2, o.position ORDER BY 1, o.position;
SELECT count(*) AS basic_differs_from_full_pos_without_pos
  FROM ((SELECT engine_kind, step, critical, condition, description, depends_on
           FROM provisioning.step_catalog WHERE operation = 'FULL_POS' AND condition <> 'pos'
         EXCEPT SELECT engine_kind, step, critical, condition, description, depends_on
           FROM provisioning.step_catalog WHERE operation = 'BASIC')
        UNION ALL
        (SELECT engine_kind, step, critical, condition, description, depends_on
           FROM provisioning.step_catalog WHERE operation = 'BASIC'
         EXCEPT SELECT engine_kind, step, critical, condition, description, depends_on
           FROM provisioning.step_catalog WHERE operation = 'FULL_POS' AND condition <> 'pos')) d;
-- a step depends only on earlier steps of its own catalog
SELECT c.engine_kind, c.operation, c.step, dep AS depends_on_a_step_not_before_it
  FROM provisioning.step_catalog c, unnest(c.depends_on) dep
 WHERE NOT EXISTS (SELECT FROM provisioning.step_catalog x
                    WHERE x.engine_kind = c.engine_kind AND x.operation = c.operation AND x.step = dep
                      AND x.position < c.position);
