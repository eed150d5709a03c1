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
-- which tenant status each run status leaves, progress at its edges.
SELECT s AS step_status, provisioning._step_is_done(s) AS done
  FROM jsonb_array_elements_text(provisioning._vocabulary()->'step') s;
SELECT r AS run_status, provisioning._tenant_status_of_run(r) AS tenant_status
  FROM jsonb_array_elements_text(provisioning._vocabulary()->'run') r;
SELECT provisioning._progress(0, 10, 'IN_PROGRESS') AS none, provisioning._progress(10, 10, 'PARTIAL') AS all_but_completed,
       provisioning._progress(10, 10, 'COMPLETED') AS completed, provisioning._progress(3, 0, 'FAILED') AS no_steps;
-- and the catalog is what the drivers declare
SELECT count(*) AS catalog_rows_not_from_drivers
  FROM (SELECT engine_kind, step, position, critical, condition, description, depends_on FROM provisioning.step_catalog
        EXCEPT SELECT * FROM provisioning._driver_catalog()) d;
