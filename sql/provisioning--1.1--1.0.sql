-- provisioning 1.1 -> 1.0: the rollback of add_provisioning_fields.
-- Drops everything 1.1 added; the roles stay, as other databases may use them.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.0'" to load this file. \quit

DROP TRIGGER tenants_start_provisioning ON provisioning.tenants;
-- Leaving the extension first also takes run_log off pg_dump's list of configuration tables.
ALTER EXTENSION provisioning DROP TABLE provisioning.run_log;
ALTER EXTENSION provisioning DROP SEQUENCE provisioning.run_log_id_seq;
DROP TABLE provisioning.run_log;
DROP TABLE provisioning.step_catalog;

DROP POLICY engines_admin ON provisioning.engines;
DROP POLICY tenants_admin ON provisioning.tenants;
DROP POLICY tenant_members_admin ON provisioning.tenant_members;
DROP POLICY tenant_onboarding_admin ON provisioning.tenant_onboarding;
DROP POLICY tenants_member ON provisioning.tenants;
DROP POLICY tenant_members_member ON provisioning.tenant_members;
DROP POLICY tenant_onboarding_member ON provisioning.tenant_onboarding;
ALTER TABLE provisioning.engines DISABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenants DISABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_members DISABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_onboarding DISABLE ROW LEVEL SECURITY;

REVOKE ALL ON provisioning.engines, provisioning.tenants, provisioning.tenant_members,
              provisioning.tenant_onboarding
       FROM provisioning_admin, provisioning_user;
REVOKE ALL ON SCHEMA provisioning FROM provisioning_admin, provisioning_user;

DROP FUNCTION provisioning._tenant_inserted();
DROP FUNCTION provisioning.prune_history(integer);
DROP FUNCTION provisioning._workers_serve_here();
DROP FUNCTION provisioning._step_record(uuid, text, text, integer, text, double precision, jsonb, text, text, text);
DROP FUNCTION provisioning._run_begin(uuid);
DROP FUNCTION provisioning.schedule_retries(text);
DROP FUNCTION provisioning.retry_due();
DROP FUNCTION provisioning.engine_health(uuid[]);
DROP FUNCTION provisioning.provision_retry(uuid, text);
DROP FUNCTION provisioning._retry_run(provisioning.tenants, provisioning.tenant_onboarding, text, integer);
DROP FUNCTION provisioning.provision_logs(uuid);
DROP FUNCTION provisioning.provision_status(uuid);
DROP FUNCTION provisioning.provision_start(uuid, jsonb);
DROP FUNCTION provisioning._status_doc(provisioning.tenant_onboarding, text);
DROP FUNCTION provisioning._latest_run(uuid);
DROP FUNCTION provisioning._queue_run(provisioning.tenants, jsonb, jsonb, jsonb, provisioning.tenant_onboarding, integer);
DROP FUNCTION provisioning._initial_steps(jsonb);
DROP FUNCTION provisioning._run_config(provisioning.tenants, jsonb);
DROP FUNCTION provisioning._check_settings(jsonb, text);
DROP FUNCTION provisioning._require_admin();
DROP FUNCTION provisioning._authorize(uuid);
DROP FUNCTION provisioning._my_tenant_ids();
DROP FUNCTION provisioning._sub();
DROP FUNCTION provisioning._claims();
DROP FUNCTION provisioning._caller();
DROP FUNCTION provisioning._engine_health(text[]);
DROP FUNCTION provisioning._wake();

DROP INDEX provisioning.tenant_onboarding_finished_idx;
DROP INDEX provisioning.idx_tenants_provisioning_status;
DROP INDEX provisioning.tenant_onboarding_one_active_run;
DROP INDEX provisioning.idx_tenant_onboarding_provisioning_status;

ALTER TABLE provisioning.tenants
    DROP COLUMN provisioning_error,
    DROP COLUMN provisioned_at,
    DROP COLUMN provisioning_status;

ALTER TABLE provisioning.tenant_onboarding
    DROP COLUMN retry_attempt,
    DROP COLUMN retry_of,
    DROP COLUMN error_kind,
    DROP COLUMN error_step,
    DROP COLUMN options,
    DROP COLUMN provisioning_metadata,
    DROP COLUMN provisioning_steps,
    DROP COLUMN provisioning_config,
    DROP COLUMN provisioning_type;
