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

-- The workers wait for this schema; once it commits, the queue is theirs again.
DO $$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._wake();
    END IF;
END
$$;
