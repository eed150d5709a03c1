-- Malformed engine answers, for each engine (cases/29_fuzz.sql): no answer, whatever its
-- shape, size or encoding, crashes a backend or stops a worker for good (spec section 10).
--
-- The server must never restart: the postmaster's start time and the launcher's pid are
-- the same at the end (a crash restarts every backend, this session's too, and the
-- launcher), and no step failed with an internal error (an ERROR escaping a step).
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 7 + 2);

-- A huge answer is a few MB: past this, not past the 16MB default. Creates answered with
-- garbage instead of applied settle for write_settle_ms (6 s in test/run.sh): 1 s is as good
-- against a simulator that applies a call before it answers, and keeps the file short.
ALTER SYSTEM SET provisioning.max_response_size = '1MB';
ALTER SYSTEM SET provisioning.write_settle_ms = 1000;
SELECT pg_reload_conf() AS reloaded \gset

DROP SCHEMA IF EXISTS tap_fuzz CASCADE;
CREATE SCHEMA tap_fuzz;

-- The launcher's pid; a launcher that started before the test database existed is waited for.
CREATE FUNCTION tap_fuzz.launcher(timeout_s double precision) RETURNS integer LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    found integer;
BEGIN
    LOOP
        SELECT pid INTO found FROM pg_stat_activity WHERE backend_type = 'provisioning launcher';
        IF found IS NOT NULL OR clock_timestamp() > deadline THEN
            RETURN found;
        END IF;
        PERFORM pg_sleep(0.1);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END
$$;
SELECT pg_postmaster_start_time() AS postmaster_started, tap_fuzz.launcher(30) AS launcher \gset
-- One engine (a site or a database of its own) and tenant per malformed answer and mode.
CREATE TABLE tap_fuzz.runs (kind text, answer text, mode text, eng text, tenant uuid);

-- The runs of an engine kind not (yet) in a final status, waiting up to timeout_s for them.
CREATE FUNCTION tap_fuzz.unfinished(kind text, timeout_s double precision) RETURNS text[]
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    left_ text[];
BEGIN
    LOOP
        SELECT array_agg(r.answer || ' ' || r.mode || ': ' || (provisioning.provision_status(r.tenant)->>'status')
                         ORDER BY r.answer, r.mode)
          INTO left_
          FROM tap_fuzz.runs r
         WHERE r.kind = unfinished.kind
           AND provisioning.provision_status(r.tenant)->>'status' IN ('PENDING', 'IN_PROGRESS');
        IF left_ IS NULL OR clock_timestamp() > deadline THEN
            RETURN coalesce(left_, '{}');
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;

-- Starts a new run for every tenant of the kind whose run did not complete; how many.
CREATE FUNCTION tap_fuzz.retry(kind text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(provisioning.provision_retry(r.tenant))
     FROM tap_fuzz.runs r
    WHERE r.kind = retry.kind AND provisioning.provision_status(r.tenant)->>'status' <> 'COMPLETED' $$;

-- Retries the kind's runs that did not complete, each round once all of them ended, until
-- they all completed or max_rounds rounds: how many rounds it took, and the runs that did
-- not end within timeout_s of their round (none: all ended).
CREATE PROCEDURE tap_fuzz.rounds(kind text, max_rounds integer, timeout_s double precision,
                                 INOUT done integer DEFAULT 0, INOUT stuck text[] DEFAULT '{}')
LANGUAGE plpgsql AS
$$
BEGIN
    WHILE done < max_rounds LOOP
        IF tap_fuzz.retry(kind) = 0 THEN
            RETURN;
        END IF;
        COMMIT;                 -- queues the runs
        done := done + 1;
        stuck := tap_fuzz.unfinished(kind, timeout_s);
        IF stuck <> '{}' THEN
            RETURN;
        END IF;
    END LOOP;
END
$$;

\set case 29_fuzz
\ir cases/engines.sql

ALTER SYSTEM RESET provisioning.max_response_size;
ALTER SYSTEM RESET provisioning.write_settle_ms;
SELECT pg_reload_conf() AS reloaded \gset
SELECT is(pg_postmaster_start_time(), :'postmaster_started'::timestamptz,
          'the postmaster never restarted');
SELECT is(tap_fuzz.launcher(0), :launcher,
          'the launcher is the one the file began with: no backend crashed');
DROP SCHEMA tap_fuzz CASCADE;
SELECT * FROM finish();
