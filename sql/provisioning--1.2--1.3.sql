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

----------------------------------------------------------------------------------------------------
-- Company names compared as the engine compares them (issue 17)
----------------------------------------------------------------------------------------------------

-- A company name as the engine's database compares it, as a key equal for names the engine
-- takes for one company. ERPNext (MariaDB, utf8mb4_unicode_ci) ignores case, accents and
-- trailing spaces: the name is decomposed (NFD), its combining marks (U+0300-U+036F)
-- dropped, lower-cased under the C collation (so no database's locale decides; letters
-- outside ASCII that NFD does not reduce, such as O with stroke, keep their case) and
-- trailing spaces cut. Odoo compares res.company's name with PostgreSQL's = (its unique
-- constraint and the driver's search): exactly, case and trailing spaces too, since Odoo
-- trims a Char only in its web client.
CREATE FUNCTION provisioning._company_key(p_kind text, p_company text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT CASE p_kind
    WHEN 'erpnext' THEN pg_catalog.rtrim(pg_catalog.lower(
        pg_catalog.regexp_replace(pg_catalog.normalize(p_company, 'NFD'), '[\u0300-\u036f]', '', 'g')
        COLLATE "C"), ' ')
    ELSE p_company
END
$$;

-- Each tenant's key, kept by the trigger below: the unique index needs it per row, since the
-- comparison depends on the engine's kind, which lives in another table.
DROP TRIGGER tenants_company_checked ON provisioning.tenants;
DROP INDEX provisioning.tenants_engine_company_key;
ALTER TABLE provisioning.tenants ADD COLUMN company_key text;
UPDATE provisioning.tenants t
   SET company_key = provisioning._company_key(e.kind, coalesce(t.settings->>'company_name', t.name))
  FROM provisioning.engines e
 WHERE e.name = t.engine;

-- Refuses tenants of an engine (of every engine when p_engine is NULL) that the engine's kind
-- takes for one company.
CREATE FUNCTION provisioning._companies_distinct(p_engine text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    dup record;
BEGIN
    SELECT t.engine, e.kind,
           string_agg(format('"%s" (tenant %s)', coalesce(t.settings->>'company_name', t.name), t.id),
                      ', ' ORDER BY t.created_at, t.id) AS holders
      INTO dup
      FROM provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine
     WHERE p_engine IS NULL OR t.engine = p_engine
     GROUP BY t.engine, e.kind, provisioning._company_key(e.kind, coalesce(t.settings->>'company_name', t.name))
    HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tenants share one company on engine "%": %', dup.engine, dup.holders
            USING ERRCODE = '23505',
                  DETAIL = format('Engine "%s" (%s) compares company names %s.', dup.engine, dup.kind,
                                  CASE dup.kind WHEN 'erpnext' THEN 'ignoring case, accents and trailing spaces'
                                                ELSE 'exactly' END),
                  HINT = 'Give all but one of them another settings.company_name, then try again.';
    END IF;
END
$$;
SELECT provisioning._companies_distinct(NULL);
-- the race-free guarantee behind the friendlier check below (hashed: a name may be long)
CREATE UNIQUE INDEX tenants_engine_company_key
    ON provisioning.tenants (engine, md5(company_key))
    WHERE engine IS NOT NULL;

CREATE OR REPLACE FUNCTION provisioning._company_taken(p_engine text, p_company text, p_tenant_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    engine_kind text := (SELECT e.kind FROM provisioning.engines e WHERE e.name = p_engine);
    wanted      text := provisioning._company_key(engine_kind, p_company);
    holder      provisioning.tenants;
BEGIN
    SELECT * INTO holder FROM provisioning.tenants t
     WHERE t.engine = p_engine AND t.id <> p_tenant_id
       AND md5(t.company_key) = md5(wanted) AND t.company_key = wanted
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'company "%" on engine "%" belongs to tenant %', p_company, p_engine, holder.id
            USING ERRCODE = '23505',
                  DETAIL = format('Tenant %s has company "%s", and engine "%s" (%s) compares company names %s.',
                                  holder.id, coalesce(holder.settings->>'company_name', holder.name), p_engine,
                                  engine_kind, CASE engine_kind WHEN 'erpnext'
                                                   THEN 'ignoring case, accents and trailing spaces'
                                                   ELSE 'exactly' END),
                  HINT = 'Give this tenant another settings.company_name.';
    END IF;
END
$$;

-- The key follows the name, the settings and the engine; written directly, it is put back.
CREATE OR REPLACE FUNCTION provisioning._tenant_company_checked() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    NEW.company_key := NULL;
    IF NEW.engine IS NOT NULL THEN
        NEW.company_key := provisioning._company_key(
            (SELECT e.kind FROM provisioning.engines e WHERE e.name = NEW.engine),
            coalesce(NEW.settings->>'company_name', NEW.name));
        PERFORM provisioning._company_taken(NEW.engine, coalesce(NEW.settings->>'company_name', NEW.name), NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_company_checked
    BEFORE INSERT OR UPDATE OF name, engine, settings, company_key ON provisioning.tenants
    FOR EACH ROW EXECUTE FUNCTION provisioning._tenant_company_checked();

-- An engine whose kind changes compares its tenants' names anew: refused when two of them
-- become one company, else each is keyed again by the trigger above.
CREATE FUNCTION provisioning._engine_kind_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._companies_distinct(NEW.name);
    UPDATE provisioning.tenants SET company_key = NULL WHERE engine = NEW.name;
    RETURN NULL;
END
$$;

CREATE TRIGGER engines_kind_changed AFTER UPDATE OF kind ON provisioning.engines
    FOR EACH ROW WHEN (NEW.kind IS DISTINCT FROM OLD.kind)
    EXECUTE FUNCTION provisioning._engine_kind_changed();

REVOKE ALL ON FUNCTION provisioning._company_key(text, text), provisioning._companies_distinct(text),
                       provisioning._engine_kind_changed()
       FROM PUBLIC;

-- The workers wait for this schema; once it commits, the queue is theirs again.
DO $$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._wake();
    END IF;
END
$$;
