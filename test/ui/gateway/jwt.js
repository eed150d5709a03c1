// HS256 JSON Web Tokens, checked the way PostgREST checks them (reference/postgrest.md §3.2):
// the algorithm comes from the key (HS256 here), exp/nbf/iat are numbers when present,
// with 30 s of clock skew. sign() is for tests and the demo.
import { createHmac, timingSafeEqual } from 'node:crypto';

const SKEW_S = 30;
const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function sign(claims, secret) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export class JwtError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// The verified claims of a token; throws JwtError (PGRST301 bad token, PGRST303 bad claims).
export function verify(token, secret) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('PGRST301', `Expected 3 parts in JWT; got ${parts.length}`);
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch {
    throw new JwtError('PGRST301', 'JWT cryptographic operation failed');
  }
  const want = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (header.alg !== 'HS256' || got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new JwtError('PGRST301', 'JWT cryptographic operation failed');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new JwtError('PGRST303', 'The JWT payload is not an object');
  }
  const now = Date.now() / 1000;
  const checks = [['exp', (v) => now <= v + SKEW_S, 'JWT expired'],
                  ['nbf', (v) => now >= v - SKEW_S, 'JWT not yet valid'],
                  ['iat', (v) => now >= v - SKEW_S, 'JWT issued at future']];
  for (const [key, ok, message] of checks) {
    if (!(key in claims)) continue;
    if (typeof claims[key] !== 'number') throw new JwtError('PGRST303', `The JWT '${key}' claim must be a number`);
    if (!ok(claims[key])) throw new JwtError('PGRST303', message);
  }
  return claims;
}

// When a token with these claims expires (ms since the epoch; Infinity without exp): the
// database refuses it from then on (provisioning._claims), whatever skew verify() allows.
export function expiresAt(claims) {
  return typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity;
}
