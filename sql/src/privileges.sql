-- Privileges, all in one place: nothing is PUBLIC, and each role gets exactly what it needs.
-- Keep this file last: the REVOKEs cover every table and function created before it. (An
-- upgrade script revokes for the objects it adds itself.)

REVOKE ALL ON ALL TABLES IN SCHEMA provisioning FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA provisioning FROM PUBLIC;
GRANT USAGE ON SCHEMA provisioning TO provisioning_admin, provisioning_user;

-- The API.
GRANT EXECUTE ON FUNCTION provisioning.provision_start(uuid, jsonb),
                          provisioning.provision_status(uuid),
                          provisioning.provision_logs(uuid),
                          provisioning.provision_retry(uuid, text),
                          provisioning.provision_cancel(uuid, text),
                          provisioning.provision_verify(uuid),
                          provisioning.engine_health(uuid[])
      TO provisioning_admin, provisioning_user;
-- (they check for an admin too, as retry_due does: _require_admin)
GRANT EXECUTE ON FUNCTION provisioning.provision_suspend(uuid, text),
                          provisioning.provision_resume(uuid),
                          provisioning.provision_offboard(uuid, text)
      TO provisioning_admin;
GRANT EXECUTE ON FUNCTION provisioning.retry_due(), provisioning.schedule_retries(text),
                          provisioning.prune_history(integer)
      TO provisioning_admin;
-- Evaluated by the row level security policies in the caller's name.
GRANT EXECUTE ON FUNCTION provisioning._my_tenant_ids() TO provisioning_admin, provisioning_user;
-- The metrics view runs as its caller (security_invoker), and so reads the engines' use.
GRANT EXECUTE ON FUNCTION provisioning._metrics(), provisioning._engine_use() TO provisioning_admin;
-- and reads why each active run waits, and whether it is stalled
GRANT EXECUTE ON FUNCTION provisioning._run_waiting(provisioning.tenant_onboarding),
                          provisioning._stalled(timestamptz) TO provisioning_admin;

-- Secrets: the admin role writes engines but reads only the columns without secrets.
GRANT SELECT (name, kind, base_url, options, max_concurrent_requests, requests_per_second), INSERT, UPDATE, DELETE
      ON provisioning.engines TO provisioning_admin;
-- company_key is the trigger's to write.
GRANT SELECT, INSERT, DELETE ON provisioning.tenants, provisioning.tenant_members TO provisioning_admin;
GRANT UPDATE (name, engine, settings) ON provisioning.tenants TO provisioning_admin;
GRANT UPDATE (role) ON provisioning.tenant_members TO provisioning_admin;
-- Runs and their log are written by the extension only.
GRANT SELECT ON provisioning.tenant_onboarding, provisioning.run_log, provisioning.step_catalog,
                provisioning.engine_kinds, provisioning.operations, provisioning.metrics
      TO provisioning_admin;
GRANT SELECT ON provisioning.tenants, provisioning.tenant_members, provisioning.tenant_onboarding,
                provisioning.run_log, provisioning.step_catalog, provisioning.engine_kinds,
                provisioning.operations
      TO provisioning_user;
-- Outages: the launcher writes them; engines are the admins'.
GRANT SELECT ON provisioning.engine_outages TO provisioning_admin;
-- The audit too: the requests' functions write it.
GRANT SELECT ON provisioning.audit TO provisioning_admin, provisioning_user;
-- Exports: the workers write them, admins read and delete them, members read their tenants'.
GRANT SELECT, DELETE ON provisioning.tenant_exports TO provisioning_admin;
GRANT SELECT ON provisioning.tenant_exports TO provisioning_user;
