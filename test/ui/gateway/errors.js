// PostgREST's error answers: the JSON body {code, message, details, hint} and the HTTP
// status of a SQLSTATE (reference/postgrest.md §4.2, v13; specific codes before classes).
const CLASS_STATUS = {
  '08': 503, '53': 503, '0L': 403, '0P': 403, '28': 403,
  '09': 500, '25': 500, '2D': 500, '38': 500, '39': 500, '3B': 500, '40': 500, '54': 500,
  '55': 500, '57': 500, '58': 500, 'F0': 500, 'HV': 500, 'XX': 500, 'P0': 500,
};

export function httpStatus(sqlstate, message, anonymous) {
  if (sqlstate === '42501') return anonymous ? 401 : 403;
  if (/^PT\d{3}$/.test(sqlstate)) return Number(sqlstate.slice(2));
  if (sqlstate.startsWith('PT')) return 500;
  if (sqlstate === '22023' && /^role ".*" does not exist$/.test(message)) return 401;
  if (sqlstate === '23503' || sqlstate === '23505') return 409;
  if (sqlstate === '25006') return 405;
  if (sqlstate === '42883' || sqlstate === '42P01') return 404;
  if (['42P17', '21000', '53400'].includes(sqlstate)) return 500;
  if (sqlstate === '57P01') return 503;
  if (sqlstate === 'P0001') return 400;
  return CLASS_STATUS[sqlstate.slice(0, 2)] ?? 400;
}

// An error the gateway answers with: HTTP status plus PostgREST's body.
export class HttpError extends Error {
  constructor(status, code, message, { details = null, hint = null, headers = {} } = {}) {
    super(message);
    Object.assign(this, { status, code, details, hint, headers });
  }
  get body() {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

// A PostgreSQL error as PostgREST answers it.
export function fromPg(err, anonymous) {
  const status = httpStatus(err.code ?? 'XX000', err.message, anonymous);
  const headers = status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {};
  return new HttpError(status, err.code, err.message,
                       { details: err.detail ?? null, hint: err.hint ?? null, headers });
}
