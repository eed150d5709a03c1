-- Engine secrets: a base_url is scheme, host, port and path only; api_key and api_secret are
-- one HTTP header line each and travel only to the engine they were given for.

-- Checks an engine row as it is written. Its limits are positive or null (none). A base_url change is judged from the row's old and
-- new values alone (1.2 asked session variables that any role can set): no credential the
-- engine had may go to the new address, so both must change in the same statement.
CREATE FUNCTION provisioning._engine_checked() RETURNS trigger
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
    IF NEW.max_concurrent_requests <= 0 OR NEW.requests_per_second <= 0 THEN
        RAISE EXCEPTION 'max_concurrent_requests and requests_per_second of engine "%" must be positive', NEW.name
            USING ERRCODE = '22023',
                  DETAIL = format('max_concurrent_requests is %s, requests_per_second is %s.',
                                  coalesce(NEW.max_concurrent_requests::text, 'null'),
                                  coalesce(NEW.requests_per_second::text, 'null')),
                  HINT = 'NULL sets no limit.';
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

CREATE TRIGGER engines_checked BEFORE INSERT OR UPDATE ON provisioning.engines
    FOR EACH ROW EXECUTE FUNCTION provisioning._engine_checked();

----------------------------------------------------------------------------------------------------
-- Outages (spec section 11): the launcher keeps what shared memory knows (engine_outage.c) here.
----------------------------------------------------------------------------------------------------

-- An outage began at p_since (nothing if the engine is gone or one is open already).
CREATE FUNCTION provisioning._engine_outage_began(p_engine text, p_since timestamptz) RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
    INSERT INTO provisioning.engine_outages (engine, since)
    SELECT e.name, p_since FROM provisioning.engines e WHERE e.name = p_engine
    ON CONFLICT DO NOTHING
$$;

-- The engine answers again: the outage that began at p_since ends, and every tenant whose
-- latest run it turned away (NOT_PROVISIONED since then, not started again since) gets a new
-- run, once: a later outage turns away only runs that ended after it began. Returns how many
-- runs were queued. A tenant locked by a request of its own is left to that request.
CREATE FUNCTION provisioning._engine_outage_ended(p_engine text, p_since timestamptz) RETURNS integer
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    queued integer := 0;
    due    record;
BEGIN
    FOR due IN
        SELECT t, r
          FROM provisioning.tenants t
          JOIN LATERAL provisioning._latest_run(t.id) r ON true
         WHERE t.engine = p_engine AND t.provisioning_status = 'NOT_PROVISIONED'
           AND r.status = 'NOT_PROVISIONED' AND r.finished_at >= p_since
         FOR UPDATE OF t SKIP LOCKED
    LOOP
        BEGIN
            PERFORM provisioning._audit('engine_recovered', (due.t).id,
                                        (provisioning._retry_run(due.t, due.r, NULL, (due.r).retry_attempt)).id,
                                        NULL, 'engine_recovered');
            queued := queued + 1;
        EXCEPTION
            WHEN others THEN
                RAISE WARNING 'tenant % was not queued again after engine % answered: %', (due.t).id, p_engine, SQLERRM
                    USING DETAIL = format('SQLSTATE %s.', SQLSTATE);
        END;
    END LOOP;
    UPDATE provisioning.engine_outages SET ended_at = pg_catalog.clock_timestamp(), runs_requeued = queued
     WHERE engine = p_engine AND ended_at IS NULL;
    RETURN queued;
END
$$;
