-- The PostgREST roles (README, "PostgREST"), for the stand-in: a LOGIN NOINHERIT
-- authenticator that may switch to the API roles, and the anonymous role. Claims are
-- trusted only from a member of provisioning_gateway, when that role exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'ui_authenticator') THEN
        CREATE ROLE ui_authenticator LOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'web_anon') THEN
        CREATE ROLE web_anon NOLOGIN;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'provisioning_gateway') THEN
        EXECUTE 'GRANT provisioning_gateway TO ui_authenticator';
    END IF;
END
$$;
GRANT web_anon, provisioning_user, provisioning_admin TO ui_authenticator;
