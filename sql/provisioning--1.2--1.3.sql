-- provisioning 1.2 -> 1.3.
-- Each section below names what it is for; provisioning--1.3--1.2.sql undoes them in
-- reverse order and keeps every user row.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.3'" to load this file. \quit

----------------------------------------------------------------------------------------------------
-- Trust (issue 17): engine secrets judged by the statement itself, creates that may still land
-- remembered past their run.
----------------------------------------------------------------------------------------------------

-- A base_url change is judged from the row's old and new values alone: no credential it had may
-- go to the new address. 1.2 asked session variables that any role can set (and that are unset
-- in a fresh session), so the two column triggers that set them go.
DROP TRIGGER engines_api_key_given ON provisioning.engines;
DROP TRIGGER engines_api_secret_given ON provisioning.engines;
DROP FUNCTION provisioning._engine_credentials_given();

CREATE OR REPLACE FUNCTION provisioning._engine_checked() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    column_name text;
    value       text;
BEGIN
    IF NEW.base_url ~ '[?#@[:space:][:cntrl:]]' THEN
        RAISE EXCEPTION 'base_url of engine "%" must not contain user info, a query or a fragment', NEW.name
            USING ERRCODE = '22023',
                  DETAIL = 'A base_url is the scheme, host, port and path of the engine, such as https://erp.example.com.',
                  HINT = 'Credentials go into api_key and api_secret.';
    END IF;
    FOREACH column_name IN ARRAY ARRAY['api_key', 'api_secret'] LOOP
        value := CASE column_name WHEN 'api_key' THEN NEW.api_key ELSE NEW.api_secret END;
        IF value ~ '[[:cntrl:]]' THEN
            RAISE EXCEPTION '% of engine "%" must not contain control characters', column_name, NEW.name
                USING ERRCODE = '22023', DETAIL = 'Line breaks would end the HTTP header that carries it.';
        END IF;
        IF octet_length(value) > 1024 THEN
            RAISE EXCEPTION '% of engine "%" is longer than 1024 bytes', column_name, NEW.name
                USING ERRCODE = '22023', DETAIL = 'It is refused rather than cut short.';
        END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' AND NEW.base_url IS DISTINCT FROM OLD.base_url
       AND (NEW.api_key = OLD.api_key OR NEW.api_secret = OLD.api_secret) THEN
        RAISE EXCEPTION 'changing the base_url of engine "%" needs a new api_key and api_secret in the same statement', NEW.name
            USING ERRCODE = '42501',
                  DETAIL = 'Credentials are sent only to the engine they were given for; a credential equal to the old one counts as the old one.',
                  HINT = 'UPDATE provisioning.engines SET base_url = ..., api_key = ..., api_secret = ... WHERE name = ...; to keep the same credentials on a new address, set them to NULL with the new base_url, then set them again.';
    END IF;
    RETURN NEW;
END
$$;

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
SELECT pg_catalog.pg_extension_config_dump('provisioning.unsettled_creates', '');
ALTER TABLE provisioning.unsettled_creates ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON provisioning.unsettled_creates FROM PUBLIC;

-- A retry starts by default at the first step not done, failed or never started: steps run at
-- once (1.2), so a critical step may fail while an earlier one was still pending, and starting
-- at the first failed one was refused (and retry_due skipped such a tenant for good).
CREATE OR REPLACE FUNCTION provisioning._retry_run(t provisioning.tenants, prior provisioning.tenant_onboarding,
                                                   p_step text, attempt integer)
    RETURNS provisioning.tenant_onboarding
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    options   jsonb := prior.options || jsonb_build_object('provisioning_type', prior.provisioning_type);
    kind      text := coalesce(prior.provisioning_config->>'engine_kind', 'erpnext');
    start_pos integer;
    blocker   text;
    steps     jsonb;
BEGIN
    IF p_step IS NULL THEN
        SELECT e->>'step' INTO p_step
          FROM jsonb_array_elements(prior.provisioning_steps) WITH ORDINALITY AS x(e, n)
         WHERE e->>'status' NOT IN ('completed', 'exists', 'skipped') ORDER BY n LIMIT 1;
        IF p_step IS NULL THEN
            RAISE EXCEPTION 'run % of tenant % has no failed step', prior.id, t.id
                USING ERRCODE = '22023',
                      HINT = 'Pass the step to start from, or call provision_start for a new full run.';
        END IF;
    END IF;
    SELECT c.position INTO start_pos FROM provisioning.step_catalog c WHERE c.engine_kind = kind AND c.step = p_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown step "%"', p_step
            USING ERRCODE = '22023',
                  HINT = 'Steps: ' || (SELECT string_agg(c.step, ', ' ORDER BY c.position)
                                         FROM provisioning.step_catalog c WHERE c.engine_kind = kind) || '.';
    END IF;
    IF NOT EXISTS (SELECT FROM jsonb_array_elements(prior.provisioning_steps) e WHERE e->>'step' = p_step) THEN
        RAISE EXCEPTION 'step "%" is not part of a % run', p_step, prior.provisioning_type
            USING ERRCODE = '22023';
    END IF;
    SELECT e->>'step' INTO blocker
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.step = e->>'step'
     WHERE c.position < start_pos AND c.critical
       AND e->>'status' NOT IN ('completed', 'exists', 'skipped')
     ORDER BY c.position LIMIT 1;
    IF blocker IS NOT NULL THEN
        RAISE EXCEPTION 'cannot start at "%": the earlier step "%" has not succeeded', p_step, blocker
            USING ERRCODE = '22023', HINT = format('Retry from %s.', blocker);
    END IF;
    -- Earlier steps keep their outcome; the rest start afresh.
    SELECT jsonb_agg(CASE WHEN c.position < start_pos THEN e ELSE f END ORDER BY c.position) INTO steps
      FROM jsonb_array_elements(prior.provisioning_steps) e
      JOIN provisioning.step_catalog c ON c.engine_kind = kind AND c.step = e->>'step'
      JOIN jsonb_array_elements(provisioning._initial_steps(provisioning._run_config(t, options))) f
        ON f->>'step' = e->>'step';
    RETURN provisioning._queue_run(t, options, steps, prior.provisioning_metadata, prior, attempt);
END
$$;

-- The workers wait for this schema; once it commits, the queue is theirs again.
DO $$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._wake();
    END IF;
END
$$;
