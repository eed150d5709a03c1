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
