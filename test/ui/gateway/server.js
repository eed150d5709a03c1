// A PostgREST stand-in, for tests only (PostgREST cannot be installed here). It speaks
// PostgREST's protocol as reference/postgrest.md describes it: Authorization: Bearer <JWT>
// (HS256) verified, each request one transaction of the LOGIN NOINHERIT authenticator that
// switches to the token's role and sets request.jwt.claims (§2.1), GET/POST /rpc/<function>
// with named arguments, GET and POST on tables, errors as PostgREST's JSON with its
// SQLSTATE-to-HTTP mapping. Beside it, what an application adds: /events, a Server-Sent
// Events relay of NOTIFY provisioning, and ui/ served under /ui/ with a strict CSP.
import http from 'node:http';
import pg from 'pg';
import { verify, expiresAt, JwtError } from './jwt.js';
import { HttpError, fromPg } from './errors.js';
import { loadCatalog } from './catalog.js';
import { findFunction, rpcStatement, readStatement, insertStatement } from './statements.js';
import { serveStatic } from './static.js';
import { EventRelay } from './events.js';

const JSON_TYPE = 'application/json; charset=utf-8';

// options: { pg: {host, port, database, user}, jwtSecret, anonRole, schema, uiDir, port, host }
export async function startGateway(options) {
  const pool = new pg.Pool({ ...options.pg, max: 8 });
  const client = await pool.connect();
  let catalog;
  try { catalog = await loadCatalog(client, options.schema); } finally { client.release(); }
  const relay = new EventRelay(options.pg);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) return res.end();   // an event stream that broke
      const e = err instanceof HttpError ? err : new HttpError(500, 'PGRST000', String(err?.message ?? err));
      send(res, e.status, JSON.stringify(e.body), e.headers);
    });
  });

  async function handle(req, res) {
    const url = new URL(req.url, 'http://gateway');
    if (url.pathname === '/ui' || url.pathname.startsWith('/ui/')) return serveStatic(req, res, options.uiDir, url.pathname.slice(4));
    // EventSource cannot send headers: /events alone also takes the token as access_token.
    const auth = authenticate(req.headers.authorization,
                              url.pathname === '/events' ? url.searchParams.get('access_token') : undefined);
    if (url.pathname === '/events') return events(req, res, url, auth);
    const body = req.method === 'POST' ? await readJson(req) : null;
    const rpc = /^\/rpc\/([^/]+)$/.exec(url.pathname);
    const table = /^\/([^/]+)$/.exec(url.pathname);
    let statement;
    if (rpc && ['GET', 'HEAD', 'POST'].includes(req.method)) {
      const args = req.method === 'POST' ? body ?? {} : queryArgs(url.searchParams);
      if (typeof args !== 'object' || Array.isArray(args)) throw new HttpError(400, 'PGRST102', 'Invalid body: expected a JSON object');
      const fn = findFunction(catalog, decodeURIComponent(rpc[1]), Object.keys(args));
      statement = { sql: rpcStatement(catalog, fn, Object.keys(args)), params: [JSON.stringify(args)],
                    readOnly: req.method !== 'POST' || fn.volatility !== 'v', void: fn.void, status: 200 };
    } else if (table && catalog.tables.has(table[1]) && ['GET', 'POST'].includes(req.method)) {
      if (req.method === 'GET') {
        statement = { ...readStatement(catalog, table[1], url.searchParams), readOnly: true, status: 200 };
      } else {
        const rows = Array.isArray(body) ? body : [body ?? {}];
        const representation = /return=representation/.test(req.headers.prefer ?? '');
        statement = { sql: insertStatement(catalog, table[1], rows, url.searchParams.get('select')),
                      params: [JSON.stringify(rows)], readOnly: false, status: 201, void: !representation };
      }
    } else {
      throw new HttpError(404, 'PGRST125', `Invalid path specified in request URL`);
    }
    const out = await transaction(req, url, auth, statement);
    if (statement.void) return send(res, statement.status === 200 ? 204 : statement.status, null);
    return send(res, statement.status, out ?? 'null');
  }

  // The role and claims of a request (§3.3): the token's role claim, or the anonymous role.
  function authenticate(header, queryToken) {
    const m = /^bearer\s*(.*)$/i.exec(header ?? '');
    const token = m ? m[1] : queryToken;
    const anonymousDisabled = () => new HttpError(401, 'PGRST302', 'Anonymous access is disabled',
                                                  { headers: { 'WWW-Authenticate': 'Bearer' } });
    if (token == null) {
      if (!options.anonRole) throw anonymousDisabled();
      return { role: options.anonRole, claims: { role: options.anonRole }, anonymous: true };
    }
    try {
      if (token === '') throw new JwtError('PGRST301', 'Empty JWT is sent in Authorization header');
      const claims = verify(token, options.jwtSecret);
      const role = typeof claims.role === 'string' ? claims.role : options.anonRole;
      if (!role) throw anonymousDisabled();
      return { role, claims: { ...claims, role }, anonymous: role === options.anonRole };
    } catch (err) {
      if (!(err instanceof JwtError)) throw err;
      throw new HttpError(401, err.code, err.message, {
        headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${err.message}"` } });
    }
  }

  // One request, one transaction (§2.1): BEGIN, the set_config statement, the main
  // statement, COMMIT; ROLLBACK on any error.
  async function transaction(req, url, auth, statement) {
    let conn;
    try { conn = await pool.connect(); } catch (err) {
      throw new HttpError(503, 'PGRST000', `Database connection error: ${err.message}`);
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'cookie'));
    try {
      await conn.query(`BEGIN ISOLATION LEVEL READ COMMITTED ${statement.readOnly ? 'READ ONLY' : 'READ WRITE'}`);
      await conn.query(`SELECT set_config('search_path', $1, true), set_config('role', $2, true),
                               set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true),
                               set_config('request.path', $5, true), set_config('request.headers', $6, true),
                               set_config('request.cookies', $7, true)`,
                       [`"${options.schema}", "public"`, auth.role, JSON.stringify(auth.claims), req.method,
                        url.pathname, JSON.stringify(headers), JSON.stringify(cookies(req.headers.cookie))]);
      const { rows } = await conn.query(statement.sql, statement.params);
      await conn.query('COMMIT');
      return rows[0]?.body;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => {});
      if (err instanceof HttpError || !err.code) throw err;
      throw fromPg(err, auth.anonymous);
    } finally {
      conn.release();
    }
  }

  // GET /events?tenant_id=…[&access_token=…]: the caller must be allowed to read the tenant's
  // status (checked by calling provision_status as the caller); then every NOTIFY
  // provisioning for that tenant is relayed as one event, until the token expires: access
  // is checked at connect only, so the stream ends with the token (EventSource's reconnect
  // with it is refused).
  async function events(req, res, url, auth) {
    const tenantId = url.searchParams.get('tenant_id') ?? '';
    const fn = findFunction(catalog, 'provision_status', ['tenant_id']);
    await transaction(req, url, auth, { sql: rpcStatement(catalog, fn, ['tenant_id']),
                                        params: [JSON.stringify({ tenant_id: tenantId })], readOnly: true });
    const write = (text) => res.writableEnded || res.write(text);   // the stream may have ended at expiry
    const unsubscribe = await relay.subscribe(tenantId, (payload) => write(`data: ${payload}\n\n`));
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('retry: 1000\n: connected\n\n');
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), 15000);
    const cancelExpiry = runAt(expiresAt(auth.claims), () => res.end(': token expired\n\n'));
    res.on('close', () => { clearInterval(heartbeat); cancelExpiry(); unsubscribe(); });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    // Closes every connection at once, as a gateway that goes away would.
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await relay.close();
      await pool.end();
    },
  };
}

// Calls fn once the clock reaches time (ms since the epoch; never for Infinity); returns
// what cancels it. A timer waits at most 2^31 - 1 ms and may fire a little early, so it is
// armed again until then.
function runAt(time, fn) {
  let timer = null;
  const arm = () => {
    const wait = time - Date.now();
    if (wait <= 0) fn();
    else timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
  };
  if (Number.isFinite(time)) arm();
  return () => clearTimeout(timer);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, body == null ? headers : { 'Content-Type': JSON_TYPE, ...headers });
  res.end(body ?? undefined);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return null;
  try { return JSON.parse(text); } catch (err) {
    throw new HttpError(400, 'PGRST102', 'Empty or invalid json', { details: err.message });
  }
}

// GET arguments: query parameters that are not reserved words (§1.3).
function queryArgs(params) {
  const reserved = ['select', 'columns', 'on_conflict', 'order', 'limit', 'offset', 'and', 'or'];
  return Object.fromEntries([...params].filter(([k]) => !reserved.includes(k)));
}

function cookies(header) {
  return Object.fromEntries((header ?? '').split(';').map((c) => c.trim().split('=')).filter(([k]) => k));
}
