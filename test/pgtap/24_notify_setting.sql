-- provisioning.notify: NOTIFY provisioning reaches any role that can connect and LISTEN,
-- whatever its grants, so an operator can turn it off for the server (postgresql.conf or
-- ALTER SYSTEM, then a reload). A second connection (dblink) listens; a marker NOTIFY sent
-- after a run ended arrives after every notification of that run (a listener receives
-- them in commit order), so "none before the marker" means the run sent none.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS dblink;
\set ignored `$SIMCTL reset notify.localhost`
SELECT test.new_engine('notify') IS NOT NULL AS engine;
SET provisioning.auto_start = off;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Notify Retail', 'notify') RETURNING id AS tenant \gset
RESET provisioning.auto_start;

SELECT dblink_connect('listener', format('host=%s port=%s dbname=%s',
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_database())) AS connected;
SELECT dblink_exec('listener', 'LISTEN provisioning') AS listening;
CREATE TEMP TABLE heard (payload jsonb);

-- Collects the listener's notifications until the marker arrives; after the deadline, a
-- TIMEOUT text naming the wait.
CREATE FUNCTION pg_temp.hear_until(marker jsonb, timeout_s double precision DEFAULT 60) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
    LOOP
        INSERT INTO heard (payload)
        SELECT extra::jsonb FROM dblink_get_notify('listener') WHERE notify_name = 'provisioning';
        IF EXISTS (SELECT FROM heard WHERE payload = marker) THEN
            RETURN 'heard';
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN format('TIMEOUT after %s s waiting for the notification %s', timeout_s, marker);
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;

-- Waits until a fresh session (the listener's, between two commands) has the setting:
-- the reload has reached every process by then, the workers included.
CREATE FUNCTION pg_temp.reloaded(wanted text, timeout_s double precision DEFAULT 30) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
    WHILE (SELECT v FROM dblink('listener', 'SELECT current_setting(''provisioning.notify'')') AS t(v text))
          <> wanted LOOP
        IF clock_timestamp() > deadline THEN
            RETURN format('TIMEOUT after %s s waiting for provisioning.notify = %s', timeout_s, wanted);
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
    RETURN wanted;
END
$$;

SELECT throws_ok($$SET provisioning.notify = off$$, '55P02', NULL,
                 'a session cannot turn the notifications off (or on) for itself');

ALTER SYSTEM SET provisioning.notify = off;
SELECT pg_reload_conf();
SELECT is(pg_temp.reloaded('off'), 'off', 'provisioning.notify = off reaches the server');
SELECT provision_start ->> 'status' AS queued FROM provisioning.provision_start(:'tenant');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'with the notifications off, a run completes');
NOTIFY provisioning, '{"marker": "off"}';
SELECT is(pg_temp.hear_until('{"marker": "off"}'), 'heard', 'a marker sent after the run arrives');
SELECT is((SELECT count(*) FROM heard WHERE payload ->> 'tenant_id' = :'tenant'), 0::bigint,
          'before it, nothing: the run sent no notification (queued, steps, end)');

ALTER SYSTEM RESET provisioning.notify;
SELECT pg_reload_conf();
SELECT is(pg_temp.reloaded('on'), 'on', 'provisioning.notify is on again');
SELECT provision_start ->> 'run_id' AS run FROM provisioning.provision_start(:'tenant') \gset
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'a second run completes');
NOTIFY provisioning, '{"marker": "on"}';
SELECT is(pg_temp.hear_until('{"marker": "on"}'), 'heard', 'a marker sent after it arrives');
SELECT is((SELECT array_agg(DISTINCT payload ->> 'status') FROM heard WHERE payload ->> 'run_id' = :'run'),
          ARRAY['COMPLETED', 'IN_PROGRESS', 'PENDING'],
          'before it, the run''s notifications: queued, started, ended');
SELECT is((SELECT array_agg(DISTINCT payload ->> 'step') FROM heard
            WHERE payload ->> 'run_id' = :'run' AND payload ->> 'step' IS NOT NULL),
          (SELECT array_agg(e ->> 'step' ORDER BY e ->> 'step')
             FROM jsonb_array_elements(provisioning.provision_status(:'tenant') -> 'steps') e
            WHERE e ->> 'status' <> 'skipped'),
          'and the changes of every step it executed');

SELECT dblink_disconnect('listener');
DROP EXTENSION dblink;
SELECT * FROM finish();
