-- One writer per run, for each engine (cases/30_one_writer.sql): every change to a run's
-- row is its run worker's, and step workers stop when their run worker goes away.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(2 * 10);
-- who changes runs: the backend type of every UPDATE of a run's row
CREATE TABLE test.run_writers (run_id uuid, backend_type text);
CREATE FUNCTION test.note_run_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test.run_writers
    SELECT NEW.id, coalesce((SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()), '?');
    RETURN NULL;
END
$$;
CREATE TRIGGER note_run_writer AFTER UPDATE ON provisioning.tenant_onboarding
    FOR EACH ROW EXECUTE FUNCTION test.note_run_writer();
\set case 30_one_writer
\ir cases/engines.sql
DROP TRIGGER note_run_writer ON provisioning.tenant_onboarding;
DROP FUNCTION test.note_run_writer();
DROP TABLE test.run_writers;
SELECT * FROM finish();
