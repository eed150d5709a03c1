#!/usr/bin/env node
// Runs the PostgREST stand-in: node main.js [--port N] [--ui DIR]
// Environment: PGHOST, PGPORT, PGDATABASE (the database), GATEWAY_AUTHENTICATOR (its login
// role, default ui_authenticator), JWT_SECRET (at least 32 characters), GATEWAY_ANON_ROLE
// (default web_anon). Prints one JSON line {"url"} once it listens, on loopback only.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startGateway } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { port: { type: 'string', default: '0' },
                                          ui: { type: 'string', default: path.join(here, '../../../ui') } } });
const secret = process.env.JWT_SECRET ?? '';
if (secret.length < 32) {
  console.error('JWT_SECRET must hold at least 32 characters');
  process.exit(2);
}
const gateway = await startGateway({
  pg: { host: process.env.PGHOST, port: Number(process.env.PGPORT ?? 5432), database: process.env.PGDATABASE,
        user: process.env.GATEWAY_AUTHENTICATOR ?? 'ui_authenticator' },
  jwtSecret: secret,
  anonRole: process.env.GATEWAY_ANON_ROLE ?? 'web_anon',
  schema: 'provisioning',
  uiDir: values.ui,
  port: Number(values.port),
});
console.log(JSON.stringify({ url: gateway.url }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => gateway.close().then(() => process.exit(0)));
