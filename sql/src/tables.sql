-- Tables: engines, tenants and their members, one row per provisioning run, its log, the
-- operations and the step catalog, and the creates still unsettled. Indexes, storage
-- options and pg_extension_config_dump sit with their table; rows, functions, triggers and
-- privileges come in the files after this one.
--
-- Column order: a table's columns are declared in the order the upgrade chain from 1.0
-- leaves them (columns added by a later version come last), so a fresh install and an
-- upgraded one are the same row type: SELECT *, row_to_json, COPY and pg_dump's column
-- lists do not depend on how a database got to this version (test/sql/upgrade.sql compares
-- the two column by column).

-- ERP engines tenants are provisioned on. The base_url CHECK is the coarse shape; the
-- engines_checked trigger (engines.sql) refuses user info, queries and control characters.
CREATE TABLE provisioning.engines (
    name       text PRIMARY KEY CHECK (pg_catalog.octet_length(name) BETWEEN 1 AND 63),
    kind       text NOT NULL,
    base_url   text NOT NULL CHECK (base_url ~* '^https?://[^/@\s]+(/[^\s]*)?$'),
    api_key    text,
    api_secret text,
    options    jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    -- added by 1.3: the engine's capacity, kept by all workers together (null: no limit)
    max_concurrent_requests integer,
    requests_per_second     numeric
);
COMMENT ON TABLE provisioning.engines IS
    'ERP engines tenants are provisioned on; api_key and api_secret are readable by the extension owner only.';

-- A tenant is provisioned on its engine when inserted (queue.sql's trigger).
-- provisioning_status is the tenant's side of its latest run; company_key is the company
-- name as the engine compares it, kept by the tenants_company_checked trigger
-- (companies.sql) for the unique index below.
CREATE TABLE provisioning.tenants (
    id                  uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    name                text NOT NULL,
    engine              text REFERENCES provisioning.engines (name),
    settings            jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- added by 1.1
    -- SUSPENDED and OFFBOARDED came with 1.3's lifecycle operations
    provisioning_status text NOT NULL DEFAULT 'NOT_PROVISIONED'
                        CONSTRAINT tenants_provisioning_status_check
                        CHECK (provisioning_status IN ('NOT_PROVISIONED', 'PROVISIONING', 'PROVISIONED', 'PARTIAL',
                                                       'FAILED', 'SUSPENDED', 'OFFBOARDED')),
    provisioned_at      timestamptz,
    provisioning_error  text,
    -- added by 1.3
    company_key         text
);
CREATE INDEX idx_tenants_provisioning_status ON provisioning.tenants (provisioning_status);
-- One company per engine, race-free: the friendlier check is _company_taken (companies.sql).
-- Hashed: a name may be long.
CREATE UNIQUE INDEX tenants_engine_company_key
    ON provisioning.tenants (engine, pg_catalog.md5(company_key))
    WHERE engine IS NOT NULL;

CREATE TABLE provisioning.tenant_members (
    tenant_id uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    role      text NOT NULL DEFAULT 'member',
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user_id_idx ON provisioning.tenant_members (user_id);

-- One row per provisioning run (its status, its settings, its steps as a JSON array, the
-- references to what it made in the engine). The worker updates it at every step boundary.
CREATE TABLE provisioning.tenant_onboarding (
    id                    uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    tenant_id             uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    correlation_id        uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    status                text NOT NULL DEFAULT 'PENDING'
                          CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED',
                                            'CANCELLED')),
    created_at            timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_at            timestamptz,
    finished_at           timestamptz,
    -- added by 1.1
    provisioning_type     text NOT NULL DEFAULT 'FULL_POS',
    provisioning_config   jsonb NOT NULL DEFAULT '{}',
    provisioning_steps    jsonb NOT NULL DEFAULT '[]',
    provisioning_metadata jsonb NOT NULL DEFAULT '{}',
    options               jsonb NOT NULL DEFAULT '{}',
    error_step            text,
    error_kind            text CHECK (error_kind IN ('transient', 'permanent', 'offline')),
    retry_of              uuid,
    retry_attempt         integer NOT NULL DEFAULT 0,
    -- added by 1.2: when a run began last; the launcher leaves an interrupted run alone for
    -- a moment after that, so a run that kills its worker cannot restart in a tight loop
    claimed_at            timestamptz,
    -- added by 1.3: the tenant's status when the run was queued, which a cancelled run
    -- leaves it in; a cancel asked for by provision_cancel, which the run's worker acts on
    -- at its next step boundary (the caller's session writes these two, nothing else)
    prior_tenant_status   text,
    cancel_requested_at   timestamptz,
    cancel_reason         text
)
-- Room left on each page keeps the step-boundary updates HOT (no new entry in each index).
WITH (fillfactor = 70);
CREATE INDEX tenant_onboarding_tenant_created_idx
    ON provisioning.tenant_onboarding (tenant_id, created_at DESC);
-- The launcher's queue: runs still to be executed, oldest first.
CREATE INDEX idx_tenant_onboarding_provisioning_status
    ON provisioning.tenant_onboarding (status, created_at)
    WHERE status IN ('PENDING', 'IN_PROGRESS');
-- At most one queued or running run per tenant: concurrent starts yield exactly one run.
CREATE UNIQUE INDEX tenant_onboarding_one_active_run
    ON provisioning.tenant_onboarding (tenant_id)
    WHERE status IN ('PENDING', 'IN_PROGRESS');
-- Finished runs by age: prune_history and the metrics window.
CREATE INDEX tenant_onboarding_finished_idx ON provisioning.tenant_onboarding (finished_at)
    WHERE status NOT IN ('PENDING', 'IN_PROGRESS');

-- What a run does (its provisioning_type): each engine kind has a step catalog per operation.
-- Its rows are the extension's (catalog.sql); position is the order they are listed in.
-- provisions: a provisioning operation, which provision_start (options or settings) may
-- name; the others are the lifecycle operations, each queued by a function of its own
-- (lifecycle.sql). admin_only: only provisioning_admin may queue (or retry) one.
-- allowed_from: the tenant statuses a run of it may be queued from (_check_operation).
CREATE TABLE provisioning.operations (
    operation    text PRIMARY KEY,
    position     integer NOT NULL UNIQUE,
    description  text NOT NULL,
    provisions   boolean NOT NULL,
    admin_only   boolean NOT NULL,
    allowed_from text[] NOT NULL
);
-- a run is of one of them (its settings are checked first, with a friendlier error: _check_settings)
ALTER TABLE provisioning.tenant_onboarding
    ADD CONSTRAINT tenant_onboarding_provisioning_type_fkey FOREIGN KEY (provisioning_type)
        REFERENCES provisioning.operations (operation);

-- The kinds of engine the extension drives, with the settings' defaults per kind
-- (_run_config) and how the engine compares company names (_company_key). Its rows come
-- from the registered drivers (catalog.sql), not the user; an engine is of one of them.
CREATE TABLE provisioning.engine_kinds (
    kind             text PRIMARY KEY,
    setting_defaults jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(setting_defaults) = 'object'),
    -- added by 1.3
    company_names    text NOT NULL CONSTRAINT engine_kinds_company_names_check
                     CHECK (company_names IN ('exact', 'folded'))
);
ALTER TABLE provisioning.engines
    ADD CONSTRAINT engines_kind_fkey FOREIGN KEY (kind) REFERENCES provisioning.engine_kinds (kind);

-- The steps as data, per engine kind and operation: a run's step list comes from here
-- (_initial_steps), position is the order of the status document and of a sequential run,
-- depends_on the steps whose results a step reads (a run starts a step once all of them
-- settled). Its rows are the extension's (catalog.sql). engine_kind and depends_on came
-- with 1.2, operation with 1.3, hence last.
CREATE TABLE provisioning.step_catalog (
    step        text NOT NULL,
    position    integer NOT NULL,
    critical    boolean NOT NULL,
    -- unsupported: the engine has nothing to do for the step; it is skipped, with the
    -- description as the reason. pos: a point-of-sale step, which operations without a
    -- point of sale leave out (the drivers' StepCatalog.leaves_out).
    condition   text NOT NULL CHECK (condition IN ('always', 'demo_data', 'pos', 'unsupported')),
    description text NOT NULL,
    engine_kind text NOT NULL REFERENCES provisioning.engine_kinds (kind),
    depends_on  text[] NOT NULL DEFAULT '{}',
    -- added by 1.3
    operation   text NOT NULL REFERENCES provisioning.operations (operation),
    CONSTRAINT step_catalog_pkey PRIMARY KEY (engine_kind, operation, step),
    CONSTRAINT step_catalog_position_key UNIQUE (engine_kind, operation, position),
    CONSTRAINT step_catalog_depends_on_check CHECK (NOT step = ANY (depends_on))
);

-- What happened, step by step, for provision_logs().
CREATE TABLE provisioning.run_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    tenant_id      uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    run_id         uuid NOT NULL REFERENCES provisioning.tenant_onboarding (id) ON DELETE CASCADE,
    correlation_id uuid NOT NULL,
    step           text,
    status         text NOT NULL,
    message        text,
    duration_ms    double precision
);
CREATE INDEX run_log_tenant_at_idx ON provisioning.run_log (tenant_id, at);
CREATE INDEX run_log_run_idx ON provisioning.run_log (run_id);

-- Who asked for what (spec section 12): one row per request that queued or changed a run,
-- written in the request's own transaction (a request rolled back leaves none). actor is the
-- caller's user id (or role, for an admin without one), or what acted for nobody in
-- particular: 'trigger' (a tenant's insert), 'retry_due' (scheduled retries). The actions of
-- operations still to come are accepted already. A row goes with its run (prune_history's
-- retention); run_id is null only for an action about no run.
CREATE TABLE provisioning.audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor     text NOT NULL,
    action    text NOT NULL CHECK (action IN ('start', 'retry', 'verify', 'cancel', 'suspend', 'resume',
                                              'offboard', 'auto_start', 'scheduled_retry',
                                              'engine_recovered')),
    tenant_id uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    run_id    uuid REFERENCES provisioning.tenant_onboarding (id) ON DELETE CASCADE,
    reason    text
);
-- a tenant's audit, newest first; the run's index serves the cascade from a pruned run
CREATE INDEX audit_tenant_at_idx ON provisioning.audit (tenant_id, at DESC);
CREATE INDEX audit_run_idx ON provisioning.audit (run_id);

-- What an offboarding exported (spec section 12): every document the engine held for the
-- tenant's company, one row per document, by the run that exported it. Written by whichever
-- process executes the export step (export_rows in step_context.c: a page per transaction,
-- a row written again is left as it is), not by the run's writer: it is no part of the run's
-- row. Kept until an admin deletes them: no foreign key to the run, so pruning the run's
-- history keeps its exports; a tenant's deletion takes them.
CREATE TABLE provisioning.tenant_exports (
    tenant_id   uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    run_id      uuid NOT NULL,
    kind        text NOT NULL,
    key         text NOT NULL,
    document    jsonb NOT NULL,
    exported_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (run_id, kind, key)
);
CREATE INDEX tenant_exports_tenant_idx ON provisioning.tenant_exports (tenant_id, exported_at);

-- Engines found unreachable (spec section 11): since the first request that could not reach
-- the engine until the first answer again. Written by the launcher, which keeps the outages
-- of shared memory here (engine_outage.c): an outage open at a restart is probed again, and
-- the runs it turned away are queued again once it ends (runs_requeued of them).
CREATE TABLE provisioning.engine_outages (
    engine        text NOT NULL REFERENCES provisioning.engines (name) ON UPDATE CASCADE ON DELETE CASCADE,
    since         timestamptz NOT NULL,
    ended_at      timestamptz,
    runs_requeued integer NOT NULL DEFAULT 0,
    PRIMARY KEY (engine, since)
);
-- at most one open outage per engine, found by the status document and the launcher
CREATE UNIQUE INDEX engine_outages_open_idx ON provisioning.engine_outages (engine) WHERE ended_at IS NULL;

-- Creates sent without an answer (a timeout, a lost connection, a gateway's 502/504): the engine
-- may still apply one until provisioning.write_settle_ms after it was sent, also after its run
-- ended. The tenant's next run (a retry, manual or scheduled) looks such a target up instead of
-- creating it again until then. Rows are the run workers'; a run's begin drops its tenant's
-- rows older than the window.
CREATE TABLE provisioning.unsettled_creates (
    tenant_id uuid NOT NULL REFERENCES provisioning.tenants (id) ON DELETE CASCADE,
    target    text NOT NULL,
    sent_at   timestamptz NOT NULL,
    run_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, target)
);

-- The user's data: pg_dump dumps these rows (the catalog tables' rows are the extension's
-- and come back with CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('provisioning.engines', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenant_members', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenant_onboarding', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.run_log', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.run_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.unsettled_creates', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.audit', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.audit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.engine_outages', '');
SELECT pg_catalog.pg_extension_config_dump('provisioning.tenant_exports', '');
