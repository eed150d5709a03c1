-- provisioning 1.0: the schema before provisioning.
-- Engines, tenants, their members and one onboarding record per provisioning run.

\echo Use "CREATE EXTENSION provisioning" to load this file. \quit

CREATE TABLE provisioning.engines (
    name       text PRIMARY KEY CHECK (pg_catalog.octet_length(name) BETWEEN 1 AND 63),
    kind       text NOT NULL CHECK (kind IN ('erpnext', 'odoo')),
    base_url   text NOT NULL CHECK (base_url ~* '^https?://[^/@\s]+(/[^\s]*)?$'),
    api_key    text,
    api_secret text,
    options    jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object')
);
COMMENT ON TABLE provisioning.engines IS
    'ERP engines tenants are provisioned on; api_key and api_secret are readable by the extension owner only.';

CREATE TABLE provisioning.tenants (
    id         uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    name       text NOT NULL,
    engine     text REFERENCES provisioning.engines (name),
    settings   jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE provisioning.tenant_members (
    tenant_id uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    role      text NOT NULL DEFAULT 'member',
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user_id_idx ON provisioning.tenant_members (user_id);

CREATE TABLE provisioning.tenant_onboarding (
    id             uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    correlation_id uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    status         text NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED')),
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX tenant_onboarding_tenant_created_idx
    ON provisioning.tenant_onboarding (tenant_id, created_at DESC);

SELECT pg_catalog.pg_extension_config_dump('provisioning.engines', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenant_members', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenant_onboarding', '');
