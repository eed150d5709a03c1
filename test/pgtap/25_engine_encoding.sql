-- Engine text that is not valid in the database encoding (cases/25_engine_encoding.sql per
-- engine): it is stored repaired, engine_health cuts it between characters, and a dump of
-- the database restores every row.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 5 + 1 + 2 + 2);

-- Can the text be read in a client encoding other than the database's? GB18030 holds every
-- character, so only bytes that are not UTF-8 fail to convert.
CREATE FUNCTION pg_temp.readable(t text) RETURNS boolean LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM convert_to(t, 'GB18030');
    RETURN true;
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
    RETURN false;
END
$$;

-- The simulator's raw answer: exactly these bytes, as JSON with that HTTP status.
CREATE FUNCTION pg_temp.raw_fault(rule jsonb, status int, body bytea) RETURNS text LANGUAGE sql AS
$$ SELECT (rule || jsonb_build_object('action', 'raw', 'status', status,
                                      'body_base64', translate(encode(body, 'base64'), E'\n', '')))::text $$;

\set case 25_engine_encoding
\ir cases/engines.sql

-- engine_health: Odoo's probe error carries the engine's text (ERPNext's only its status),
-- here a Latin-1 byte and more two-byte characters than the answer's 255 bytes hold
SET provisioning.auto_start = off;
SELECT test.new_odoo_engine('latin_health') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Latin Health', 'latin_health') RETURNING id AS tenant \gset
SELECT pg_temp.raw_fault('{"db": "latin_health", "method": "common.authenticate"}', 200,
         convert_to('{"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error", '
                    '"data": {"name": "odoo.exceptions.UserError", "message": "Caf', 'UTF8')
         || '\xe9'::bytea || convert_to(' ' || repeat('é', 200) || '"}}}', 'UTF8')) AS fault \gset
\set ignored `$SIMCTL odoo fault :'fault'`
CREATE TEMP TABLE health AS SELECT provisioning.engine_health(ARRAY[:'tenant']::uuid[])->0->>'error' AS error;
SELECT ok(pg_temp.readable(error), 'engine_health: the error reads in another encoding') FROM health;
SELECT is(error, 'odoo.exceptions.UserError: Caf' || U&'\FFFD' || ' ' || repeat('é', 110),
          'engine_health: the bad byte is replaced and the error is cut between characters, within 255 bytes')
  FROM health;
RESET provisioning.auto_start;

-- A dump of such rows restores every one of them.
SELECT (SELECT count(*) FROM provisioning.tenants) || '/' || (SELECT count(*) FROM provisioning.tenant_onboarding)
       || '/' || (SELECT count(*) FROM provisioning.run_log) AS before \gset
\set restore_errors `d=$(mktemp -d) && pg_dump -Fc -e provisioning -f "$d/dump" "$PGDATABASE" && dropdb --if-exists provisioning_restore_25 && createdb provisioning_restore_25 && pg_restore -d provisioning_restore_25 "$d/dump" 2>&1 | grep -c ERROR; rm -rf "$d"`
SELECT is(:'restore_errors'::text, '0', 'the dump restores without errors');
\set after `psql -X -At -d provisioning_restore_25 -c "SELECT (SELECT count(*) FROM provisioning.tenants) || '/' || (SELECT count(*) FROM provisioning.tenant_onboarding) || '/' || (SELECT count(*) FROM provisioning.run_log)"`
SELECT is(:'after'::text, :'before'::text, 'every row of tenants, tenant_onboarding and run_log is restored');
\set ignored `dropdb provisioning_restore_25`

SELECT * FROM finish();
