-- Live progress: NOTIFY provisioning at commit (spec section 8) for every change of a run:
-- queued, started, a step started or ended (one notification per step whose status changed,
-- in step order), the run ended. Ids, statuses and progress only: never a message or a
-- secret. In C (src/notify.c): it fires at every step boundary.
CREATE FUNCTION provisioning._run_notify() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'provisioning_run_notify';

CREATE TRIGGER tenant_onboarding_notify
    AFTER INSERT OR UPDATE OF status, provisioning_steps ON provisioning.tenant_onboarding
    FOR EACH ROW EXECUTE FUNCTION provisioning._run_notify();
