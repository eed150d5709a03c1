-- Backups: pg_dump of the extension's data and a restore into a new database keep the
-- engines, tenants, members, runs and logs (the tables are extension configuration
-- tables), and the restore starts no provisioning.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(3);

INSERT INTO provisioning.tenant_members
SELECT id, 'dump-member', 'owner' FROM provisioning.tenants LIMIT 3;

CREATE TEMP VIEW fingerprint AS
SELECT (SELECT count(*) || ':' || md5(string_agg(name || base_url || coalesce(api_secret, ''), ',' ORDER BY name)) FROM provisioning.engines) AS engines,
       (SELECT count(*) || ':' || md5(string_agg(id || provisioning_status || settings::text, ',' ORDER BY id)) FROM provisioning.tenants) AS tenants,
       (SELECT count(*) || ':' || md5(string_agg(tenant_id || user_id || role, ',' ORDER BY tenant_id, user_id)) FROM provisioning.tenant_members) AS members,
       (SELECT count(*) || ':' || md5(string_agg(id || status || provisioning_steps::text, ',' ORDER BY id)) FROM provisioning.tenant_onboarding) AS runs,
       (SELECT count(*) || ':' || md5(string_agg(id || status || coalesce(message, ''), ',' ORDER BY id)) FROM provisioning.run_log) AS logs;
SELECT row_to_json(f)::text AS before FROM fingerprint f \gset

\set restore_errors `d=$(mktemp -d) && pg_dump -Fc -e provisioning -f "$d/dump" "$PGDATABASE" && dropdb --if-exists provisioning_restore && createdb provisioning_restore && pg_restore -d provisioning_restore "$d/dump" 2>&1 | grep -c ERROR; rm -rf "$d"`
SELECT is(:'restore_errors'::text, '0', 'the dump restores without errors');

\set after `psql -X -At -d provisioning_restore -c "SELECT row_to_json(f)::text FROM (SELECT (SELECT count(*) || ':' || md5(string_agg(name || base_url || coalesce(api_secret, ''), ',' ORDER BY name)) FROM provisioning.engines) AS engines, (SELECT count(*) || ':' || md5(string_agg(id || provisioning_status || settings::text, ',' ORDER BY id)) FROM provisioning.tenants) AS tenants, (SELECT count(*) || ':' || md5(string_agg(tenant_id || user_id || role, ',' ORDER BY tenant_id, user_id)) FROM provisioning.tenant_members) AS members, (SELECT count(*) || ':' || md5(string_agg(id || status || provisioning_steps::text, ',' ORDER BY id)) FROM provisioning.tenant_onboarding) AS runs, (SELECT count(*) || ':' || md5(string_agg(id || status || coalesce(message, ''), ',' ORDER BY id)) FROM provisioning.run_log) AS logs) f"`
SELECT is(:'after'::jsonb, :'before'::jsonb, 'engines, tenants, members, runs and logs are the same after the restore');
\set queued `psql -X -At -d provisioning_restore -c "SELECT count(*) FROM provisioning.tenant_onboarding WHERE status = 'PENDING'"`
SELECT is(:queued, 0, 'the restore queued no run');
\set ignored `dropdb provisioning_restore`

SELECT * FROM finish();
