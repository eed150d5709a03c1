// The SQL of one request, shaped as PostgREST shapes it (reference/postgrest.md §1.4, §1.8):
// arguments read from one JSON parameter with json_to_record and passed by name; the
// body produced as JSON text by the database.
import { HttpError } from './errors.js';

export const ident = (name) => `"${String(name).replaceAll('"', '""')}"`;

// Picks the overload whose parameters fit the argument names (§1.3).
export function findFunction(catalog, name, keys) {
  const fits = (catalog.functions.get(name) ?? []).filter((f) => {
    const names = f.args.map((a) => a.name);
    return keys.every((k) => names.includes(k)) && f.required.every((r) => keys.includes(r));
  });
  if (fits.length === 1) return fits[0];
  if (fits.length > 1) throw new HttpError(300, 'PGRST203', `Could not choose the best candidate function between: ${catalog.schema}.${name}`);
  throw new HttpError(404, 'PGRST202',
    `Could not find the function ${catalog.schema}.${name}(${[...keys].sort().join(', ')}) in the schema cache`);
}

// SELECT <the function's result as JSON text> with the arguments in $1 (a JSON object).
export function rpcStatement(catalog, fn, keys) {
  const args = fn.args.filter((a) => keys.includes(a.name));
  const call = `${ident(catalog.schema)}.${ident(fn.name)}(${args.map((a) => `${ident(a.name)} := _.${ident(a.name)}`).join(', ')})`;
  const from = args.length
    ? `json_to_record($1::json) AS _(${args.map((a) => `${ident(a.name)} ${a.type}`).join(', ')}), LATERAL ${call} r`
    : `${call} r, (SELECT $1::json) AS _`;
  if (fn.void) return `SELECT NULL::text AS body FROM ${from}`;
  const value = fn.setof ? `coalesce(json_agg(r), '[]'::json)` : `to_json(r)`;
  return `SELECT ${value}::text AS body FROM ${from}`;
}

function columnsOf(catalog, table, names) {
  const known = catalog.tables.get(table);
  for (const n of names) {
    if (!known.includes(n)) throw new HttpError(400, 'PGRST204', `Could not find the '${n}' column of '${table}' in the schema cache`);
  }
  return names.map(ident).join(', ');
}

const OPERATORS = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

// The list of in.(a,b,"c,d"): values split at commas, double quotes around a value that holds
// a comma or a parenthesis, a backslash escaping the next character inside them (PostgREST's
// horizontal filtering; not in reference/postgrest.md, which covers RPC).
function inList(text) {
  const values = [];
  let value = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) value += text[++i];
      else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { values.push(value); value = ''; }
    else value += c;
  }
  if (quoted) throw new HttpError(400, 'PGRST100', `"failed to parse filter (in.(${text}))" (line 1, column 1)`);
  values.push(value);
  return values;
}

// GET /<table>?select=a,b&order=c.desc&col=eq.value&col=in.(v,w): the rows as a JSON array.
export function readStatement(catalog, table, query) {
  const select = query.get('select');
  const columns = select && select !== '*' ? columnsOf(catalog, table, select.split(',')) : '*';
  const where = [];
  const params = [];
  for (const [key, value] of query) {
    if (['select', 'order', 'limit', 'offset'].includes(key)) continue;
    const list = /^in\.\((.*)\)$/s.exec(value);
    if (list) {
      params.push(inList(list[1]));
      where.push(`${columnsOf(catalog, table, [key])}::text = ANY($${params.length}::text[])`);
      continue;
    }
    const m = /^(eq|neq|gt|gte|lt|lte)\.(.*)$/s.exec(value);
    if (!m) throw new HttpError(400, 'PGRST100', `"failed to parse filter (${value})" (line 1, column 1)`);
    params.push(m[2]);
    where.push(`${columnsOf(catalog, table, [key])}::text ${OPERATORS[m[1]]} $${params.length}`);
  }
  const order = (query.get('order') ?? '').split(',').filter(Boolean).map((o) => {
    const [col, dir = 'asc'] = o.split('.');
    if (!['asc', 'desc'].includes(dir)) throw new HttpError(400, 'PGRST100', `"failed to parse order (${o})"`);
    return `${columnsOf(catalog, table, [col])} ${dir}`;
  });
  const limit = Number.parseInt(query.get('limit') ?? '', 10);
  const sql = `SELECT coalesce(json_agg(t), '[]'::json)::text AS body FROM (SELECT ${columns} FROM ${ident(catalog.schema)}.${ident(table)}`
    + (where.length ? ` WHERE ${where.join(' AND ')}` : '')
    + (order.length ? ` ORDER BY ${order.join(', ')}` : '')
    + (Number.isFinite(limit) ? ` LIMIT ${limit}` : '') + ') t';
  return { sql, params };
}

// POST /<table> with an object or an array of objects: INSERT of the keys given (the
// others take their defaults), returning the rows when asked (Prefer: return=representation).
export function insertStatement(catalog, table, rows, select) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cols = columnsOf(catalog, table, keys);
  const returned = select && select !== '*' ? columnsOf(catalog, table, select.split(',')) : '*';
  const target = `${ident(catalog.schema)}.${ident(table)}`;
  return `WITH ins AS (INSERT INTO ${target} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${target}, $1::json) RETURNING *)
          SELECT coalesce(json_agg(t), '[]'::json)::text AS body FROM (SELECT ${returned} FROM ins) t`;
}
