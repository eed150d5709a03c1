-- Who the caller is and what they may see.
--
-- Three cluster-wide roles (created once, shared by every database that installs the
-- extension, so never dropped by it): provisioning_admin (every tenant, the engines, the
-- cluster-wide operations), provisioning_user (the tenants they are a member of, by the sub
-- claim) and provisioning_gateway (login roles whose request.jwt.claims are believed:
-- PostgREST's authenticator, or the application's login role).
--
-- The helpers below run inside the SECURITY DEFINER API functions and take their fixed
-- search_path; they carry no SET clause of their own because provision_status() calls
-- them on every request and each SET costs a GUC save and restore. Nobody else may
-- execute them (privileges.sql).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_admin') THEN
        CREATE ROLE provisioning_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_user') THEN
        CREATE ROLE provisioning_user NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_gateway') THEN
        CREATE ROLE provisioning_gateway NOLOGIN;
    END IF;
END
$$;

-- The role the request runs as: SET ROLE (PostgREST's role switch) or the login role.
-- current_user would name the owner inside the SECURITY DEFINER API functions.
CREATE FUNCTION provisioning._caller() RETURNS name
    LANGUAGE sql STABLE AS
$$
    SELECT CASE WHEN current_setting('role') = 'none' THEN session_user
                ELSE current_setting('role')::name END
$$;

-- The verified request claims as PostgREST sets them, or NULL when there are none.
-- Claims count only where a gateway logged in: anyone else could set request.jwt.claims to
-- any identity. A pooled connection keeps '' after a request; malformed or expired claims
-- are refused.
CREATE FUNCTION provisioning._claims() RETURNS jsonb
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    raw    text := nullif(current_setting('request.jwt.claims', true), '');
    claims jsonb;
BEGIN
    IF raw IS NULL OR NOT pg_has_role(session_user, 'provisioning_gateway', 'MEMBER') THEN
        RETURN NULL;
    END IF;
    BEGIN
        claims := raw::jsonb;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'request.jwt.claims is not valid JSON'
            USING ERRCODE = '42501', DETAIL = 'The request carries no usable identity.';
    END;
    IF jsonb_typeof(claims) <> 'object' THEN
        RAISE EXCEPTION 'request.jwt.claims is not a JSON object'
            USING ERRCODE = '42501', DETAIL = 'The request carries no usable identity.';
    END IF;
    IF claims ? 'exp' THEN
        IF jsonb_typeof(claims->'exp') <> 'number' THEN
            RAISE EXCEPTION 'the JWT exp claim must be a number' USING ERRCODE = '42501';
        END IF;
        IF (claims->>'exp')::numeric < extract(epoch FROM clock_timestamp()) THEN
            RAISE EXCEPTION 'the JWT has expired' USING ERRCODE = '42501',
                HINT = 'Sign in again to get a fresh token.';
        END IF;
    END IF;
    RETURN claims;
END
$$;

-- The caller's user id: the sub claim behind a gateway, else the login role's own name.
CREATE FUNCTION provisioning._sub() RETURNS text
    LANGUAGE sql STABLE AS
$$
    SELECT CASE WHEN pg_has_role(session_user, 'provisioning_gateway', 'MEMBER')
                THEN nullif(provisioning._claims()->>'sub', '')
                ELSE session_user::text END
$$;

-- Tenants the caller may see through the tables (used by the row level security policies,
-- evaluated in the caller's name: hence SECURITY DEFINER, and EXECUTE for both roles).
CREATE FUNCTION provisioning._my_tenant_ids() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT coalesce(array_agg(m.tenant_id), '{}')
      FROM provisioning.tenant_members m
     WHERE m.user_id = provisioning._sub()
$$;

-- Checks the caller against a tenant and returns the tenant.
-- Order: identity (42501), tenant exists (PT404), membership (42501).
CREATE FUNCTION provisioning._authorize(p_tenant_id uuid) RETURNS provisioning.tenants
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    caller   name := provisioning._caller();
    is_admin boolean := pg_has_role(caller, 'provisioning_admin', 'MEMBER');
    sub      text := provisioning._sub();
    t        provisioning.tenants;
BEGIN
    IF NOT is_admin THEN
        IF NOT pg_has_role(caller, 'provisioning_user', 'MEMBER') THEN
            RAISE EXCEPTION 'permission denied for provisioning'
                USING ERRCODE = '42501',
                      DETAIL = format('Role %s is neither provisioning_admin nor provisioning_user.', caller);
        END IF;
        IF sub IS NULL THEN
            RAISE EXCEPTION 'no user identity in the request'
                USING ERRCODE = '42501',
                      DETAIL = 'request.jwt.claims has no sub claim.',
                      HINT = 'Send a JWT with a sub claim, or set request.jwt.claims with set_config.';
        END IF;
    END IF;
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'tenant_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO t FROM provisioning.tenants WHERE id = p_tenant_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant_id USING ERRCODE = 'PT404';
    END IF;
    IF NOT is_admin AND NOT EXISTS (SELECT FROM provisioning.tenant_members m
                                     WHERE m.tenant_id = p_tenant_id AND m.user_id = sub) THEN
        RAISE EXCEPTION 'user % is not a member of tenant %', sub, p_tenant_id
            USING ERRCODE = '42501';
    END IF;
    RETURN t;
END
$$;

-- Only provisioning_admin (or a superuser) may call the cluster-wide operations.
CREATE FUNCTION provisioning._require_admin() RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._claims();
    IF NOT pg_has_role(provisioning._caller(), 'provisioning_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for provisioning administration'
            USING ERRCODE = '42501', DETAIL = 'Only members of provisioning_admin may do this.';
    END IF;
END
$$;

-- Records a request in provisioning.audit, in the request's transaction. p_actor names what
-- acted for nobody in particular ('trigger', 'retry_due'); without it the actor is the
-- caller's user id, or its role for an admin whose request carries none.
CREATE FUNCTION provisioning._audit(p_action text, p_tenant_id uuid, p_run_id uuid,
                                    p_reason text DEFAULT NULL, p_actor text DEFAULT NULL)
    RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
    INSERT INTO provisioning.audit (actor, action, tenant_id, run_id, reason)
    VALUES (coalesce(p_actor, provisioning._sub(), provisioning._caller()), p_action, p_tenant_id, p_run_id,
            p_reason)
$$;

----------------------------------------------------------------------------------------------------
-- Row level security: admins see and write everything (runs and their log are written by
-- the extension only); users read their tenants' rows. unsettled_creates is the workers'
-- alone: RLS on and no policy.
----------------------------------------------------------------------------------------------------

ALTER TABLE provisioning.engines ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_onboarding ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.run_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.unsettled_creates ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.engine_outages ENABLE ROW LEVEL SECURITY;
ALTER TABLE provisioning.tenant_exports ENABLE ROW LEVEL SECURITY;

CREATE POLICY engines_admin ON provisioning.engines TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenants_admin ON provisioning.tenants TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenant_members_admin ON provisioning.tenant_members TO provisioning_admin USING (true) WITH CHECK (true);
CREATE POLICY tenant_onboarding_admin ON provisioning.tenant_onboarding FOR SELECT TO provisioning_admin USING (true);
CREATE POLICY run_log_admin ON provisioning.run_log FOR SELECT TO provisioning_admin USING (true);
CREATE POLICY audit_admin ON provisioning.audit FOR SELECT TO provisioning_admin USING (true);
CREATE POLICY engine_outages_admin ON provisioning.engine_outages FOR SELECT TO provisioning_admin USING (true);
-- exports are kept until an admin deletes them; the workers write them
CREATE POLICY tenant_exports_admin_read ON provisioning.tenant_exports FOR SELECT TO provisioning_admin USING (true);
CREATE POLICY tenant_exports_admin_delete ON provisioning.tenant_exports FOR DELETE TO provisioning_admin USING (true);

CREATE POLICY tenants_member ON provisioning.tenants FOR SELECT TO provisioning_user
    USING (id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY tenant_members_member ON provisioning.tenant_members FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY tenant_onboarding_member ON provisioning.tenant_onboarding FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY run_log_member ON provisioning.run_log FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY audit_member ON provisioning.audit FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
CREATE POLICY tenant_exports_member ON provisioning.tenant_exports FOR SELECT TO provisioning_user
    USING (tenant_id = ANY ((SELECT provisioning._my_tenant_ids())::uuid[]));
