-- Migrations: 1.0 updated through 1.1 and 1.2 to 1.3 has the same catalog as a fresh 1.3; each
-- downgrade (the rollback plan) gives back the earlier version exactly, keeping the data.
-- The two paths are independent: CREATE EXTENSION provisioning runs the full install script
-- provisioning--1.3.sql (built from sql/src), the update runs provisioning--1.0.sql and the
-- upgrade scripts.
\set SHOW_CONTEXT never
CREATE DATABASE provisioning_upgrade;
\c provisioning_upgrade

-- Everything the extension owns, described by name (OIDs differ between installs): each
-- member with its comment; functions with their definition and ACL; tables and views with
-- their columns in attnum order (SELECT *, row_to_json and pg_dump see that order), indexes,
-- constraints, triggers, policies, storage options and view definition; the config tables;
-- and every row of the extension's own tables (the catalogs, which are not the user's data).
CREATE FUNCTION describe_extension() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT pg_describe_object(d.classid, d.objid, 0)
           || coalesce(' comment=' || obj_description(d.objid, d.classid::regclass::text::name), '')
           || coalesce(
             CASE d.classid
               WHEN 'pg_proc'::regclass THEN
                 (SELECT ' ' || pg_get_functiondef(p.oid) || coalesce(p.proacl, acldefault('f', p.proowner))::text
                    FROM pg_proc p WHERE p.oid = d.objid)
               WHEN 'pg_class'::regclass THEN
                 (SELECT ' acl=' || coalesce(c.relacl, acldefault('r', c.relowner))::text || ' rls=' || c.relrowsecurity
                         || ' options=' || coalesce(c.reloptions::text, '')
                         || ' columns=' || coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                                          || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                                          || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                                                          || coalesce(' acl=' || a.attacl::text, '')
                                                          || coalesce(' comment=' || col_description(a.attrelid, a.attnum), ''), ', ' ORDER BY a.attnum)
                                                     FROM pg_attribute a
                                                     LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                                                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
                         || ' indexes=' || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
                                                     FROM pg_index i WHERE i.indrelid = c.oid), '')
                         || ' constraints=' || coalesce((SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), '; ' ORDER BY k.conname)
                                                         FROM pg_constraint k WHERE k.conrelid = c.oid), '')
                         || ' triggers=' || coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname)
                                                      FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
                         || ' policies=' || coalesce((SELECT string_agg(pol.polname || ' ' || pol.polcmd::text || ' '
                                                                        || coalesce(pg_get_expr(pol.polqual, pol.polrelid), ''), '; ' ORDER BY pol.polname)
                                                      FROM pg_policy pol WHERE pol.polrelid = c.oid), '')
                         || CASE WHEN c.relkind = 'v' THEN ' view=' || pg_get_viewdef(c.oid) ELSE '' END
                    FROM pg_class c WHERE c.oid = d.objid)
             END, '')
      FROM pg_depend d
      JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
     WHERE e.extname = 'provisioning' AND d.deptype = 'e'
     UNION ALL
    SELECT 'config ' || unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'provisioning'
     UNION ALL
    SELECT 'row of ' || c.oid::regclass::text || ' ' || r::text
      FROM pg_extension e
      JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
                      AND d.classid = 'pg_class'::regclass
      JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'r' AND c.oid <> ALL (coalesce(e.extconfig, '{}'))
     CROSS JOIN LATERAL unnest(xpath('/table/row', query_to_xml(format('SELECT * FROM %s', c.oid::regclass),
                                                               false, false, ''))) r
     WHERE e.extname = 'provisioning'
$$;

CREATE EXTENSION provisioning VERSION '1.0';
CREATE TABLE v10 AS SELECT describe_extension() AS d;
ALTER EXTENSION provisioning UPDATE TO '1.1';
CREATE TABLE v11 AS SELECT describe_extension() AS d;
ALTER EXTENSION provisioning UPDATE TO '1.2';
CREATE TABLE v12 AS SELECT describe_extension() AS d;
ALTER EXTENSION provisioning UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
CREATE TABLE upgraded AS SELECT describe_extension() AS d;
DROP EXTENSION provisioning;
CREATE EXTENSION provisioning;
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
CREATE TABLE fresh AS SELECT describe_extension() AS d;

-- upgraded and fresh are the same: no rows either way
-- (counted without a test-only engine kind's rows: the test cluster knows one)
SELECT count(*) AS objects, count(*) FILTER (WHERE d LIKE 'row of %') AS catalog_rows FROM fresh
 WHERE d !~ ('^row of .*<(kind|engine_kind)>(' || (SELECT coalesce(string_agg(kind, '|'), '-') FROM provisioning._driver_kinds()
                                                  WHERE kind NOT IN ('erpnext', 'odoo')) || ')</');
(SELECT d FROM upgraded EXCEPT SELECT d FROM fresh) UNION ALL (SELECT d FROM fresh EXCEPT SELECT d FROM upgraded);

-- the 1.1 columns and indexes exist...
SELECT attrelid::regclass, attname FROM pg_attribute
 WHERE attrelid IN ('provisioning.tenants'::regclass, 'provisioning.tenant_onboarding'::regclass)
   AND attname IN ('provisioning_type', 'provisioning_config', 'provisioning_steps', 'provisioning_metadata',
                   'provisioning_status', 'provisioned_at', 'provisioning_error')
 ORDER BY 1, 2;
SELECT to_regclass('provisioning.idx_tenant_onboarding_provisioning_status') IS NOT NULL AS onboarding_index,
       to_regclass('provisioning.idx_tenants_provisioning_status') IS NOT NULL AS tenants_index;

-- 1.3 -> 1.2 from the fresh 1.3 gives back exactly the 1.2 of the released chain (1.0 ->
-- 1.1 -> 1.2 above; CREATE EXTENSION ... VERSION '1.2' would take the shortest path, the
-- fresh 1.3 and this very downgrade), data kept
INSERT INTO provisioning.tenants (name) VALUES ('Kept');
ALTER EXTENSION provisioning UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
(SELECT d FROM v12 EXCEPT SELECT describe_extension()) UNION ALL (SELECT describe_extension() EXCEPT SELECT d FROM v12);
SELECT name FROM provisioning.tenants;

-- 1.2 -> 1.1 gives back exactly 1.1, data kept
ALTER EXTENSION provisioning UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
(SELECT d FROM v11 EXCEPT SELECT describe_extension()) UNION ALL (SELECT describe_extension() EXCEPT SELECT d FROM v11);
SELECT name FROM provisioning.tenants;

-- ...and the 1.1 -> 1.0 downgrade removes them, giving back exactly 1.0, data kept
ALTER EXTENSION provisioning UPDATE TO '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
SELECT count(*) AS columns_left FROM pg_attribute
 WHERE attrelid IN ('provisioning.tenants'::regclass, 'provisioning.tenant_onboarding'::regclass)
   AND NOT attisdropped
   AND attname IN ('provisioning_type', 'provisioning_config', 'provisioning_steps', 'provisioning_metadata',
                   'provisioning_status', 'provisioned_at', 'provisioning_error');
SELECT to_regclass('provisioning.idx_tenant_onboarding_provisioning_status') AS onboarding_index,
       to_regclass('provisioning.idx_tenants_provisioning_status') AS tenants_index;
(SELECT d FROM v10 EXCEPT SELECT describe_extension()) UNION ALL (SELECT describe_extension() EXCEPT SELECT d FROM v10);
SELECT name FROM provisioning.tenants;

-- and up again
ALTER EXTENSION provisioning UPDATE;
SELECT name, provisioning_status FROM provisioning.tenants;

-- 1.2 -> 1.3 refuses tenants their ERPNext engine takes for one company (1.2 compared names
-- ignoring case only); 1.3 -> 1.2 refuses Odoo tenants whose names differ only in case (1.3
-- compares Odoo names exactly, 1.2 did not)
ALTER EXTENSION provisioning UPDATE TO '1.2';
SET provisioning.auto_start = off;
INSERT INTO provisioning.engines (name, kind, base_url, options)
VALUES ('erp', 'erpnext', 'http://127.0.0.1:9', '{}'), ('odoo', 'odoo', 'http://127.0.0.1:9', '{"database": "odoo"}');
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-000000000001', 'Café Rouge', 'erp'),
    ('00000000-0000-4000-8000-000000000002', 'cafe rouge ', 'erp');
ALTER EXTENSION provisioning UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
UPDATE provisioning.tenants SET name = 'Cafe Noir' WHERE id = '00000000-0000-4000-8000-000000000002';
ALTER EXTENSION provisioning UPDATE;
SELECT name, engine, company_key FROM provisioning.tenants ORDER BY name;
INSERT INTO provisioning.tenants (id, name, engine) VALUES
    ('00000000-0000-4000-8000-000000000003', 'Acme', 'odoo'),
    ('00000000-0000-4000-8000-000000000004', 'ACME', 'odoo');
ALTER EXTENSION provisioning UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
DELETE FROM provisioning.tenants WHERE id = '00000000-0000-4000-8000-000000000004';
ALTER EXTENSION provisioning UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'provisioning';
RESET provisioning.auto_start;

-- pg_cron is not installed in this database
\set SHOW_CONTEXT never
SELECT provisioning.schedule_retries();
\echo :LAST_ERROR_SQLSTATE

\c postgres
DROP DATABASE provisioning_upgrade;
