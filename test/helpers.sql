-- Test helpers, loaded into the test database by test/run.sh.
CREATE SCHEMA test;

-- The base URL of a site of the simulated ERPNext (one site per Host name, like Frappe).
CREATE FUNCTION test.sim_url(site text) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT format('http://%s.localhost:%s', site, current_setting('test.sim_port')) $$;

-- An engine on its own site of the simulated ERPNext: an ERPNext, or the test-only kind
-- sample, which speaks the same API (src/engines/sample/).
CREATE FUNCTION test.new_engine(site text, api_secret text DEFAULT 'simsecret', kind text DEFAULT 'erpnext')
RETURNS text LANGUAGE sql AS
$$ INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
   VALUES (site, kind, test.sim_url(site), 'simkey', api_secret) RETURNING name $$;

-- Polls the tenant's status until its run ends. After the deadline it answers a TIMEOUT
-- text naming the wait, so the assertion that compares it fails saying what it waited for.
CREATE FUNCTION test.wait_final(tenant uuid, timeout_s double precision DEFAULT 60) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    status   text;
BEGIN
    LOOP
        status := provisioning.provision_status(tenant)->>'status';
        IF status NOT IN ('PENDING', 'IN_PROGRESS') THEN
            RETURN status;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN format('TIMEOUT after %s s waiting for the run of tenant %s to end (still %s)',
                          timeout_s, tenant, status);
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;

-- The status of each step of the tenant's latest run.
CREATE FUNCTION test.step_statuses(tenant uuid) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_object_agg(e->>'step', e->>'status')
     FROM jsonb_array_elements(provisioning.provision_status(tenant)->'steps') e $$;

-- Every step of an engine kind's catalog of an operation with the same status, except those
-- listed in the exceptions object.
CREATE FUNCTION test.all_steps(status text, exceptions jsonb DEFAULT '{}', operation text DEFAULT 'FULL_POS',
                               kind text DEFAULT 'erpnext')
RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_object_agg(c.step, status) || exceptions
     FROM provisioning.step_catalog c
    WHERE c.engine_kind = kind AND c.operation = all_steps.operation $$;

-- Polls until the tenant's provisioning_status is the one wanted; after the deadline, a
-- TIMEOUT text as wait_final's.
CREATE FUNCTION test.wait_tenant(tenant uuid, wanted text, timeout_s double precision DEFAULT 60) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    status   text;
BEGIN
    LOOP
        SELECT provisioning_status INTO status FROM provisioning.tenants WHERE id = tenant;
        IF status = wanted THEN
            RETURN status;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN format('TIMEOUT after %s s waiting for tenant %s to be %s (still %s)',
                          timeout_s, tenant, wanted, status);
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Runs stmt in a session logged in as login (then SET ROLE role, when given) with
-- request.jwt.claims set, and gives back its one value, 'ok' for none, or the SQLSTATE it
-- raised; always rolled back. SET SESSION AUTHORIZATION makes login the session_user, as a
-- direct login would.
CREATE FUNCTION test.as_login(login text, role text, claims text, stmt text) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    result text;
BEGIN
    BEGIN
        PERFORM set_config('session_authorization', login, true);
        IF role IS NOT NULL THEN
            PERFORM set_config('role', role, true);
        END IF;
        PERFORM set_config('request.jwt.claims', coalesce(claims, ''), true);
        EXECUTE stmt INTO result;
        RAISE SQLSTATE 'TPOK0';
    EXCEPTION
        WHEN SQLSTATE 'TPOK0' THEN
            RETURN coalesce(result, 'ok');
        WHEN OTHERS THEN
            RETURN 'SQLSTATE ' || SQLSTATE;
    END;
END
$$;

-- The base URL of the simulated Odoo (one server; databases by name).
CREATE FUNCTION test.odoo_sim_url() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT format('http://127.0.0.1:%s', current_setting('test.odoo_sim_port')) $$;

-- An engine on its own database of the simulated Odoo: the login in api_key, its API key
-- in api_secret, the database in options.
CREATE FUNCTION test.new_odoo_engine(db text, api_secret text DEFAULT 'simsecret') RETURNS text
LANGUAGE sql AS
$$ INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
   VALUES (db, 'odoo', test.odoo_sim_url(), 'admin', api_secret, jsonb_build_object('database', db))
   RETURNING name $$;

-- An engine of kind on its own site (ERPNext, sample) or database (Odoo) of the simulated
-- engine: what lets one end-to-end case run for every engine kind.
CREATE FUNCTION test.new_test_engine(kind text, name text, api_secret text DEFAULT 'simsecret') RETURNS text
LANGUAGE sql AS
$$ SELECT CASE kind WHEN 'odoo' THEN test.new_odoo_engine(name, api_secret)
                    ELSE test.new_engine(name, api_secret, kind) END $$;

-- How many of an engine's logged requests (simctl requests) could write: ERPNext's POST and
-- PUT, Odoo's execute_kw calls other than reads.
CREATE FUNCTION test.write_requests(kind text, requests jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM jsonb_array_elements(requests) r
    WHERE CASE kind WHEN 'odoo'
                    THEN r->>'service' = 'object' AND r->>'model_method' NOT IN
                         ('search', 'search_read', 'search_count', 'read', 'fields_get')
                    ELSE r->>'method' IN ('POST', 'PUT') END $$;

-- One run's requests to a simulated ERPNext (simctl requests), in order, as 'METHOD path'
-- lines without the query; an insert_many also names the doctype of its documents.
CREATE FUNCTION test.erpnext_calls(requests jsonb, correlation_id text) RETURNS text[] LANGUAGE sql AS
$$ SELECT coalesce(array_agg(r->>'method' || ' ' || (r->>'path')
                             || CASE WHEN r->>'path' LIKE '%insert_many' THEN ' ' || (r->>'doctype') ELSE '' END
                             ORDER BY (r->>'seq')::int), '{}')
     FROM jsonb_array_elements(requests) r
    WHERE r->>'correlation_id' = correlation_id $$;

-- The most requests of an engine's request log (simctl requests) that were open at once,
-- counting an overlap from 10 ms: the engine logs an answer's end once its last byte left,
-- which may be after the next request came.
CREATE FUNCTION test.peak_requests(requests jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT max(o.open)
     FROM jsonb_array_elements(requests) r,
          LATERAL (SELECT count(*) AS open FROM jsonb_array_elements(requests) q
                    WHERE (q->>'t_start')::float8 <= (r->>'t_start')::float8
                      AND (q->>'t_end')::float8 > (r->>'t_start')::float8 + 0.010) o $$;

-- Polls a query until it returns true; after the deadline it raises an error naming what it
-- waited for (ON_ERROR_STOP ends the test file there, saying so).
CREATE FUNCTION test.wait_true(what text, query text, timeout_s double precision DEFAULT 30) RETURNS void
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    ok       boolean;
BEGIN
    LOOP
        EXECUTE query INTO ok;
        EXIT WHEN ok;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'TIMEOUT after % s waiting for %', timeout_s, what;
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;
