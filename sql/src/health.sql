-- Engine health: is each tenant's engine reachable, for a dashboard.

-- Probes engines (cached per engine for provisioning.health_cache_ttl).
CREATE FUNCTION provisioning._engine_health(engine_names text[]) RETURNS jsonb
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'provisioning_engine_health';

-- One answer per tenant asked for, in the order asked; at most 1000 tenants, each checked
-- against the caller (_authorize), each engine probed once.
CREATE FUNCTION provisioning.engine_health(tenant_ids uuid[]) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    tenants provisioning.tenants[];
    probes  jsonb;
BEGIN
    IF tenant_ids IS NULL THEN
        RAISE EXCEPTION 'tenant_ids must not be null' USING ERRCODE = '22023';
    END IF;
    IF cardinality(tenant_ids) > 1000 THEN
        RAISE EXCEPTION 'at most 1000 tenants per call' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(array_agg(provisioning._authorize(id) ORDER BY n), '{}') INTO tenants
      FROM unnest(tenant_ids) WITH ORDINALITY AS u(id, n);
    probes := provisioning._engine_health(
        ARRAY(SELECT DISTINCT x.engine FROM unnest(tenants) x WHERE x.engine IS NOT NULL));
    RETURN (SELECT coalesce(jsonb_agg(
                CASE WHEN x.engine IS NULL
                     THEN jsonb_build_object('tenant_id', x.id, 'engine', NULL, 'status', 'offline',
                                             'latency_ms', NULL, 'checked_at', NULL, 'cached', false,
                                             'error', 'the tenant has no engine')
                     ELSE jsonb_build_object('tenant_id', x.id, 'engine', x.engine) || (probes->x.engine)
                END ORDER BY x.ordinality), '[]')
              FROM unnest(tenants) WITH ORDINALITY AS x);
END
$$;
