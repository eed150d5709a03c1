-- One company per engine: the company a tenant resolves to (settings.company_name, else its
-- name) is unique per engine, compared the way the engine's database compares names.
-- tenants.company_key holds that comparison key per row, kept by the trigger below, for the
-- unique index tenants_engine_company_key (tables.sql): the comparison depends on the
-- engine's kind, which lives in another table.

-- A company name as the engine's database compares it, as a key equal for names the engine
-- takes for one company; the kind's driver says how (engine_kinds.company_names). "folded"
-- (ERPNext's MariaDB, utf8mb4_unicode_ci) ignores case, accents and trailing spaces: the
-- name is decomposed (NFD), its combining marks (U+0300-U+036F) dropped, lower-cased under
-- the C collation (so no database's locale decides; letters outside ASCII that NFD does not
-- reduce, such as O with stroke, keep their case) and trailing spaces cut. "exact" (Odoo's
-- PostgreSQL =, which its unique constraint and the driver's search use; Odoo trims a Char
-- only in its web client) compares case and trailing spaces too.
CREATE FUNCTION provisioning._company_key(p_kind text, p_company text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS
$$
SELECT CASE (SELECT k.company_names FROM provisioning.engine_kinds k WHERE k.kind = p_kind)
    WHEN 'folded' THEN pg_catalog.rtrim(pg_catalog.lower(
        pg_catalog.regexp_replace(pg_catalog.normalize(p_company, 'NFD'), '[\u0300-\u036f]', '', 'g')
        COLLATE "C"), ' ')
    ELSE p_company
END
$$;

-- How an engine kind compares company names, in words, for the refusals below.
CREATE FUNCTION provisioning._company_comparison(p_kind text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS
$$
SELECT CASE (SELECT k.company_names FROM provisioning.engine_kinds k WHERE k.kind = p_kind)
    WHEN 'folded' THEN 'ignoring case, accents and trailing spaces'
    ELSE 'exactly'
END
$$;

-- Refuses tenants of an engine (of every engine when p_engine is NULL) that the engine's kind
-- takes for one company.
CREATE FUNCTION provisioning._companies_distinct(p_engine text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    dup record;
BEGIN
    SELECT t.engine, e.kind,
           string_agg(format('"%s" (tenant %s)', coalesce(t.settings->>'company_name', t.name), t.id),
                      ', ' ORDER BY t.created_at, t.id) AS holders
      INTO dup
      FROM provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine
     WHERE p_engine IS NULL OR t.engine = p_engine
     GROUP BY t.engine, e.kind, provisioning._company_key(e.kind, coalesce(t.settings->>'company_name', t.name))
    HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tenants share one company on engine "%": %', dup.engine, dup.holders
            USING ERRCODE = '23505',
                  DETAIL = format('Engine "%s" (%s) compares company names %s.', dup.engine, dup.kind,
                                  provisioning._company_comparison(dup.kind)),
                  HINT = 'Give all but one of them another settings.company_name, then try again.';
    END IF;
END
$$;

-- The friendly refusal (naming the tenant that holds the company) before the unique index
-- would give a bare one; also called when a run is queued, whose options may name another
-- company (_queue_run).
CREATE FUNCTION provisioning._company_taken(p_engine text, p_company text, p_tenant_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    engine_kind text := (SELECT e.kind FROM provisioning.engines e WHERE e.name = p_engine);
    wanted      text := provisioning._company_key(engine_kind, p_company);
    holder      provisioning.tenants;
BEGIN
    SELECT * INTO holder FROM provisioning.tenants t
     WHERE t.engine = p_engine AND t.id <> p_tenant_id
       AND md5(t.company_key) = md5(wanted) AND t.company_key = wanted
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'company "%" on engine "%" belongs to tenant %', p_company, p_engine, holder.id
            USING ERRCODE = '23505',
                  DETAIL = format('Tenant %s has company "%s", and engine "%s" (%s) compares company names %s.',
                                  holder.id, coalesce(holder.settings->>'company_name', holder.name), p_engine,
                                  engine_kind, provisioning._company_comparison(engine_kind)),
                  HINT = 'Give this tenant another settings.company_name.';
    END IF;
END
$$;

-- The key follows the name, the settings and the engine; written directly, it is put back.
CREATE FUNCTION provisioning._tenant_company_checked() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    NEW.company_key := NULL;
    IF NEW.engine IS NOT NULL THEN
        NEW.company_key := provisioning._company_key(
            (SELECT e.kind FROM provisioning.engines e WHERE e.name = NEW.engine),
            coalesce(NEW.settings->>'company_name', NEW.name));
        PERFORM provisioning._company_taken(NEW.engine, coalesce(NEW.settings->>'company_name', NEW.name), NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_company_checked
    BEFORE INSERT OR UPDATE OF name, engine, settings, company_key ON provisioning.tenants
    FOR EACH ROW EXECUTE FUNCTION provisioning._tenant_company_checked();

-- An engine whose kind changes compares its tenants' names anew: refused when two of them
-- become one company, else each is keyed again by the trigger above.
CREATE FUNCTION provisioning._engine_kind_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM provisioning._companies_distinct(NEW.name);
    UPDATE provisioning.tenants SET company_key = NULL WHERE engine = NEW.name;
    RETURN NULL;
END
$$;

CREATE TRIGGER engines_kind_changed AFTER UPDATE OF kind ON provisioning.engines
    FOR EACH ROW WHEN (NEW.kind IS DISTINCT FROM OLD.kind)
    EXECUTE FUNCTION provisioning._engine_kind_changed();
