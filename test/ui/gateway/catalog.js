// The schema cache: the functions and tables of the exposed schema, read once at start
// the way PostgREST reads them (reference/postgrest.md §1.2): plain functions only, not
// returning trigger, with their input parameters, how many are required, volatility and
// result shape.
const FUNCTIONS = `
SELECT p.proname AS name, p.provolatile AS volatility, p.proretset AS setof,
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype AS void,
       p.pronargs - p.pronargdefaults AS required,
       (SELECT coalesce(json_agg(json_build_object('name', a.name, 'type', format_type(a.type, NULL))
                                 ORDER BY a.ord), '[]')
          FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                      coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs::int])))
               WITH ORDINALITY a(type, name, mode, ord)
         WHERE a.mode IN ('i', 'b', 'v')) AS args
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'f'
   AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype`;

const TABLES = `
SELECT c.relname AS name, json_agg(a.attname ORDER BY a.attnum) AS columns
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'v', 'p')
   AND a.attnum > 0 AND NOT a.attisdropped
 GROUP BY c.relname`;

export async function loadCatalog(client, schema) {
  const functions = new Map();
  for (const f of (await client.query(FUNCTIONS, [schema])).rows) {
    const overloads = functions.get(f.name) ?? [];
    overloads.push({ ...f, required: f.args.slice(0, f.required).map((a) => a.name) });
    functions.set(f.name, overloads);
  }
  const tables = new Map((await client.query(TABLES, [schema])).rows.map((t) => [t.name, t.columns]));
  return { schema, functions, tables };
}
