// What the browser tests share: the database (as its owner), the simulated ERPNext's control
// API, the PostgREST stand-in, tokens, headless Chromium (the system's, never a download),
// waits with deadlines, and the screenshots.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { startGateway } from './gateway/server.js';
import { sign, expiresAt } from './gateway/jwt.js';
import { CSP } from './gateway/static.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set (test/ui/run.sh sets it)`);
  return process.env[name];
};
const JWT_SECRET = 'a test secret of at least thirty-two characters';
const pgOptions = { host: env('PGHOST'), port: Number(env('PGPORT')), database: env('PGDATABASE') };
export const artifacts = process.env.UI_ARTIFACTS ?? path.join(here, 'screenshots');
mkdirSync(artifacts, { recursive: true });

export const tokens = {
  admin: sign({ role: 'provisioning_admin', sub: 'ui-admin' }, JWT_SECRET),
  stranger: sign({ role: 'provisioning_user', sub: 'ui-stranger' }, JWT_SECRET),
  member: sign({ role: 'provisioning_user', sub: 'ui-member' }, JWT_SECRET),   // a member of the tenants a test adds it to
};

// An admin token that expires at most `seconds` from now, and when.
export function expiringToken(seconds) {
  const claims = { role: 'provisioning_admin', sub: 'ui-admin', exp: Math.floor(Date.now() / 1000) + seconds };
  return { token: sign(claims, JWT_SECRET), expiresAt: expiresAt(claims) };
}

export async function connectDb() {
  const db = new pg.Client({ ...pgOptions, user: 'postgres' });
  await db.connect();
  return db;
}

// The simulated ERPNext's control API (test/sim/erpnext_sim.py).
export async function sim(route, body, method = 'POST') {
  const res = await fetch(`${env('SIM_CONTROL')}${route}`, { method, body: body && JSON.stringify(body),
                                                             signal: AbortSignal.timeout(10000) });
  if (!res.ok) throw new Error(`sim ${route}: HTTP ${res.status}`);
  return res.json();
}

// An engine on its own site of the simulated ERPNext.
export async function newEngine(db, site) {
  await sim('/reset', { site: `${site}.localhost` });
  await db.query(`SELECT test.new_engine($1)`, [site]);
  return site;
}

export function gateway(port = 0) {
  return startGateway({ pg: { ...pgOptions, user: 'ui_authenticator' }, jwtSecret: JWT_SECRET, anonRole: 'web_anon',
                        schema: 'provisioning', uiDir: path.join(here, '../../ui'), port });
}

export async function launchBrowser() {
  const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  return chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 30000 });
}

// Polls fn until it returns a truthy value; past the deadline fails naming what it awaited.
export async function waitFor(fn, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { last = await fn(); } catch (err) { last = err; }
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

// In every page: each provisioning-change with the time it happened, each
// provisioning-finished, every data-status each step indicator took, and CSP violations.
function recorder() {
  window.__changes = [];
  window.__finished = [];
  window.__stepStates = {};
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective));
  const seen = new WeakSet();
  const note = (li) => {
    const states = (window.__stepStates[li.dataset.step] ??= []);
    if (states.at(-1) !== li.dataset.status) states.push(li.dataset.status);
  };
  document.addEventListener('provisioning-change', (e) => {
    window.__changes.push({ t: Date.now(), doc: e.detail });
    const root = e.composedPath()[0].shadowRoot;
    if (root && !seen.has(root)) {
      seen.add(root);
      root.querySelectorAll('[part=step]').forEach(note);
      new MutationObserver((records) => records.forEach((r) => r.target.getAttribute('part') === 'step' && note(r.target)))
        .observe(root, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
    }
  });
  document.addEventListener('provisioning-finished', (e) => window.__finished.push(e.detail));
}

export async function newPage(browser, gw) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  await page.addInitScript(recorder);
  page.statusRequests = [];
  page.on('request', (r) => { if (r.url().includes('/rpc/provision_status')) page.statusRequests.push(Date.now()); });
  // A page of its own for the component alone, under the same strict CSP as ui/.
  await page.route(`${gw.url}/test/component.html`, (route) => route.fulfill({
    contentType: 'text/html', headers: { 'Content-Security-Policy': CSP },
    body: '<!doctype html><meta charset="utf-8"><title>component</title><body><script type="module" src="/ui/provisioning-status.js"></script></body>' }));
  return page;
}

// The component alone, on its own page.
export async function openComponent(page, gw, attrs, token = tokens.admin) {
  await page.goto(`${gw.url}/test/component.html`);
  await page.waitForFunction(() => customElements.get('provisioning-status'), null, { timeout: 10000 });
  await page.evaluate(([attributes, tok]) => {
    const el = document.createElement('provisioning-status');
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    el.token = tok;
    document.body.append(el);
  }, [{ api: `${gw.url}/`, interval: '250', ...attrs }, token]);   // api with a trailing slash; the page's has none
}

// The admin page, signed in with a token.
export async function openAdminPage(page, gw, extra = '') {
  await page.goto(`${gw.url}/ui/workspaces.html#token=${tokens.admin}&interval=250${extra}`);
  await page.locator('select[name=engine] option').first().waitFor({ state: 'attached', timeout: 10000 });
}

// The same page with another token (a member reads no engines), once it lists the tenant.
export async function openPageAs(page, gw, token, tenantId) {
  await page.goto(`${gw.url}/ui/workspaces.html#token=${token}&interval=250`);
  await page.locator(`tr[data-tenant="${tenantId}"]`).waitFor({ timeout: 10000 });
}

// Fills the form and creates a workspace; returns the new tenant's id.
export async function createOnPage(page, { name, engine, demo = false, chart }) {
  await page.fill('input[name=name]', name);
  await page.selectOption('select[name=engine]', engine);
  await page.setChecked('input[name=include_demo_data]', demo);
  if (chart) await page.fill('input[name=chart_of_accounts]', chart);
  await page.click('button[type=submit]');
  const el = page.locator('provisioning-status');
  await el.waitFor({ timeout: 10000 });
  return el.getAttribute('tenant-id');
}

export const part = (page, name) => page.locator(`provisioning-status [part="${name}"]`);

export async function waitStatus(page, status, timeoutMs = 60000) {
  return waitFor(() => page.evaluate((s) => window.__changes.at(-1)?.doc.status === s, status),
                 `the component to show run status ${status}`, timeoutMs);
}
