-- provisioning.audit (issue 20): every request that queued or changed a run leaves one row,
-- in its own transaction, naming who asked (the sub claim, 'trigger', 'retry_due'); members
-- read their tenants' rows, admins all, other roles none. The status document's stalled:
-- false but while a running step has made no progress for provisioning.stall_after.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT plan(23);

CREATE ROLE audit32_member NOLOGIN IN ROLE provisioning_user;
CREATE ROLE audit32_admin NOLOGIN IN ROLE provisioning_admin;
CREATE ROLE audit32_other NOLOGIN;

-- The latest audit row of a tenant, as "action actor reason", and whether it names the
-- tenant's latest run.
CREATE FUNCTION pg_temp.last_audit(tenant uuid) RETURNS text LANGUAGE sql AS
$$ SELECT concat_ws(' ', a.action, a.actor, a.reason)
              || CASE WHEN a.run_id = (SELECT o.id FROM provisioning.tenant_onboarding o WHERE o.tenant_id = tenant
                                        ORDER BY o.created_at DESC LIMIT 1) THEN '' ELSE ' (another run)' END
     FROM provisioning.audit a WHERE a.tenant_id = tenant ORDER BY a.at DESC, a.id DESC LIMIT 1 $$;

\set ignored `$SIMCTL reset audit32.localhost`
SELECT test.new_engine('audit32') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Audit Retail', 'audit32') RETURNING id AS tenant \gset
INSERT INTO provisioning.tenant_members VALUES (:'tenant', 'alice32', 'owner');
SELECT is(pg_temp.last_audit(:'tenant'), 'auto_start trigger', 'a tenant''s insert: auto_start by the trigger');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'its run completes');

-- A member's start, then an admin's start and cancel (with its reason) in one transaction.
SET ROLE audit32_member;
SELECT set_config('request.jwt.claims', '{"sub": "alice32"}', false) IS NOT NULL AS claims;
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS started;
RESET ROLE;
SELECT is(pg_temp.last_audit(:'tenant'), 'start alice32', 'provision_start: start by the member''s user id');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'that run completes');
BEGIN;
SET LOCAL ROLE audit32_admin;
SELECT set_config('request.jwt.claims', '{"sub": "root32"}', true) IS NOT NULL AS claims;
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS started;
SELECT provisioning.provision_cancel(:'tenant', 'ordered by mistake') IS NOT NULL AS cancelled;
SELECT provisioning.provision_cancel(:'tenant', 'twice') IS NOT NULL AS cancelled_again;
COMMIT;
SELECT is(pg_temp.last_audit(:'tenant'), 'cancel root32 ordered by mistake',
          'provision_cancel: cancel by the admin, with its reason; a second cancel changed nothing');
SELECT is((SELECT array_agg(action ORDER BY id) FROM provisioning.audit WHERE tenant_id = :'tenant'),
          '{auto_start,start,start,cancel}', 'one row per request that queued or changed a run');

-- A retry after the cancel.
SET ROLE audit32_member;
SELECT provisioning.provision_retry(:'tenant') IS NOT NULL AS retried;
RESET ROLE;
SELECT is(pg_temp.last_audit(:'tenant'), 'retry alice32', 'provision_retry: retry by the member');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'the retry completes');

-- A request rolled back, or refused, leaves no row.
SELECT count(*) AS audited FROM provisioning.audit WHERE tenant_id = :'tenant' \gset
BEGIN;
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS started;
ROLLBACK;
SELECT provisioning.provision_start(:'tenant') IS NOT NULL AS started;
SELECT throws_ok(format('SELECT provisioning.provision_start(%L)', :'tenant'), 'PT409', NULL,
                 'a second start is refused');
SELECT is((SELECT count(*) FROM provisioning.audit WHERE tenant_id = :'tenant'), (:audited + 1)::bigint,
          'neither the rolled-back start nor the refused one left a row; the one committed did');
SELECT is(test.wait_final(:'tenant'), 'COMPLETED', 'that run completes');

-- retry_due(): a tenant left NOT_PROVISIONED by an offline engine a day ago.
INSERT INTO provisioning.engines (name, kind, base_url) VALUES ('due32', 'erpnext', 'http://127.0.0.1:9');
INSERT INTO provisioning.tenants (name, engine) VALUES ('Due Audit', 'due32') RETURNING id AS due \gset
SELECT is(test.wait_final(:'due'), 'NOT_PROVISIONED', 'the offline engine''s run ends NOT_PROVISIONED');
UPDATE provisioning.tenant_onboarding SET finished_at = now() - interval '1 day' WHERE tenant_id = :'due';
SELECT cmp_ok(provisioning.retry_due(), '>=', 1, 'retry_due() restarts it');
SELECT is(pg_temp.last_audit(:'due'), 'scheduled_retry retry_due', 'retry_due: scheduled_retry by retry_due');
SELECT is(test.wait_final(:'due'), 'NOT_PROVISIONED', '(its engine is still offline)');

-- Who reads what: a member its tenants' rows, an admin every row, another role none.
SELECT is(test.as_login('postgres', 'audit32_member', '{"sub": "alice32"}',
                        format('SELECT string_agg(DISTINCT tenant_id::text, '','') FROM provisioning.audit
                                 WHERE tenant_id IN (%L, %L)', :'tenant', :'due')),
          :'tenant', 'a member reads its tenant''s audit only');
SELECT is(test.as_login('postgres', 'audit32_admin', '{"sub": "root32"}',
                        format('SELECT count(DISTINCT tenant_id)::text FROM provisioning.audit
                                 WHERE tenant_id IN (%L, %L)', :'tenant', :'due')),
          '2', 'an admin reads every tenant''s');
SELECT is(test.as_login('postgres', 'audit32_other', NULL, 'SELECT count(*)::text FROM provisioning.audit'),
          'SQLSTATE 42501', 'another role reads nothing');

-- stalled: a step held by the engine (a 6 s answer) is progress while it is younger than
-- stall_after, and stalled once it is older.
\set ignored `$SIMCTL reset stall32.localhost`
\set ignored `$SIMCTL fault '{"site": "stall32.localhost", "method": "GET", "path": "^/api/resource/Company/", "action": "delay", "delay_ms": 6000, "times": 1}'`
SELECT test.new_engine('stall32') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine) VALUES ('Stall Retail', 'stall32') RETURNING id AS stall \gset
CREATE FUNCTION pg_temp.wait_stalled(tenant uuid, wanted boolean) RETURNS text LANGUAGE plpgsql AS
$$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '30 s';
    doc      jsonb;
BEGIN
    LOOP
        doc := provisioning.provision_status(tenant);
        IF (doc->>'stalled')::boolean = wanted AND doc->>'current_step' = 'step_2_company' THEN
            RETURN format('%s in %s', doc->>'status', doc->>'current_step');
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN format('TIMEOUT waiting for stalled = %s in step_2_company: %s', wanted, doc);
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;
SELECT is(pg_temp.wait_stalled(:'stall', false), 'IN_PROGRESS in step_2_company',
          'the held step is not stalled under the default stall_after (10min)');
SET provisioning.stall_after = '1s';
SELECT is(pg_temp.wait_stalled(:'stall', true), 'IN_PROGRESS in step_2_company',
          'with stall_after = 1s it is stalled once it is held a second');
SELECT cmp_ok((SELECT stalled FROM provisioning.metrics WHERE engine = 'stall32' AND step IS NULL), '>=', 1::bigint,
              'the metrics count it stalled');
SELECT is(test.wait_final(:'stall'), 'COMPLETED', 'the held run completes');
SELECT is(provisioning.provision_status(:'stall')->>'stalled', 'false', 'a finished run is never stalled');
RESET provisioning.stall_after;

\set ignored `$SIMCTL clear`
DELETE FROM provisioning.tenants WHERE engine IN ('audit32', 'due32', 'stall32');
DELETE FROM provisioning.engines WHERE name IN ('audit32', 'due32', 'stall32');
DROP ROLE audit32_member, audit32_admin, audit32_other;
SELECT * FROM finish();
