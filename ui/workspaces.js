// The admin page: create a workspace (a tenant row, POST /tenants through PostgREST), list
// the tenants with their status and their latest run's, cancel a queued or running run, and
// watch the selected one with <provisioning-status> (which also does the cancelling).
import './provisioning-status.js';

const config = new URLSearchParams(location.hash.slice(1));
const api = new URL(config.get('api') ?? '../', location.href).href.replace(/\/+$/, '');
const token = config.get('token') ?? '';
const form = document.getElementById('create');
const tenantsBody = document.getElementById('tenants');
const selected = document.getElementById('selected');
let selectedId = null;
const ACTIVE = new Set(['PENDING', 'IN_PROGRESS']);
const cancelRequested = new Set();   // runs whose cancel was accepted while they still ran

class GatewayError extends Error {
  constructor(status, body) { super(body?.message ?? `HTTP ${status}`); Object.assign(this, { status, body }); }
}

async function gateway(path, { method = 'GET', body, prefer } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (prefer) headers.Prefer = prefer;
  const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                             cache: 'no-store', signal: AbortSignal.timeout(15000) });
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new GatewayError(res.status, answer);
  return answer;
}

async function loadEngines() {
  const select = form.elements.engine;
  try {
    const engines = await gateway('/engines?select=name,kind&order=name.asc');
    select.replaceChildren(...engines.map((e) => new Option(`${e.name} (${e.kind})`, e.name)));
  } catch (err) {
    showError('form', `Engines could not be listed: ${err.message}`);
  }
}

// The latest run of each tenant listed (one request: tenant_id=in.(…), newest first).
async function latestRuns(ids) {
  if (!ids.length) return new Map();
  const runs = await gateway(`/tenant_onboarding?select=id,tenant_id,status&tenant_id=in.(${ids.join(',')})&order=created_at.desc`);
  const latest = new Map();
  for (const r of runs) if (!latest.has(r.tenant_id)) latest.set(r.tenant_id, r);
  return latest;
}

async function loadTenants() {
  let tenants, runs;
  try {
    tenants = await gateway('/tenants?select=id,name,provisioning_status&order=created_at.desc&limit=100');
    runs = await latestRuns(tenants.map((t) => t.id));
  } catch (err) {
    document.getElementById('who').textContent = `Tenants could not be listed: ${err.message}`;
    return;
  }
  tenantsBody.replaceChildren(...tenants.map((t) => {
    const row = document.createElement('tr');
    row.dataset.tenant = t.id;
    row.tabIndex = 0;
    row.setAttribute('aria-selected', String(t.id === selectedId));
    const name = document.createElement('td');
    name.className = 'name';
    name.textContent = t.name;
    const status = document.createElement('td');
    status.className = 'status';
    const run = document.createElement('td');
    run.className = 'run';
    const action = document.createElement('td');
    action.className = 'action';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'cancel';
    cancel.setAttribute('aria-label', `Cancel the provisioning of ${t.name}`);
    action.append(cancel);
    row.append(name, status, run, action);
    const latest = runs.get(t.id);
    showRow(row, { tenant_status: t.provisioning_status, status: latest?.status, run_id: latest?.id });
    return row;
  }));
  // The watched tenant: what the component last saw may be newer than the list's read.
  const doc = selected.querySelector('provisioning-status')?.status;
  if (doc) showRow(rowOf(doc.tenant_id), doc);
}

const rowOf = (tenantId) => [...tenantsBody.rows].find((r) => r.dataset.tenant === tenantId);

// A row's tenant status, its latest run's status (— for none), and Cancel while that run is
// queued or running ("Cancelling…" once a cancel was accepted and the run finishes its step).
function showRow(row, { tenant_status: tenantStatus, status, run_id: runId }) {
  if (!row) return;
  row.querySelector('.status').textContent = tenantStatus;
  const run = row.querySelector('.run');
  run.textContent = runId ? status : '—';
  run.dataset.status = runId ? status : '';
  const cancel = row.querySelector('.cancel');
  const requested = cancelRequested.has(runId);
  cancel.hidden = !(runId && ACTIVE.has(status));
  cancel.textContent = requested ? 'Cancelling…' : 'Cancel';
  cancel.disabled = requested;
}

function select(tenantId) {
  const current = selected.querySelector('provisioning-status');
  if (tenantId === selectedId && current) { current.refresh(); return current; }
  selectedId = tenantId;
  for (const row of tenantsBody.rows) row.setAttribute('aria-selected', String(row.dataset.tenant === tenantId));
  const status = document.createElement('provisioning-status');
  status.setAttribute('tenant-id', tenantId);
  status.setAttribute('api', api);
  if (config.has('interval')) status.setAttribute('interval', config.get('interval'));
  if (config.has('events')) {
    const events = new URL(config.get('events'), location.href);
    events.searchParams.set('tenant_id', tenantId);
    if (token) events.searchParams.set('access_token', token);
    status.setAttribute('events', events.href);
  }
  status.token = token;
  selected.replaceChildren(status);
  return status;
}

// Cancel from the list: the tenant's component (selected for it) calls provision_cancel and
// shows the outcome, a refusal included.
async function cancelRun(row, button) {
  const component = select(row.dataset.tenant);
  button.disabled = true;
  const doc = await component.cancel();
  if (!doc) { button.disabled = false; return; }   // the component says why
  if (ACTIVE.has(doc.status)) cancelRequested.add(doc.run_id);
  showRow(rowOf(doc.tenant_id), doc);
}

// Keeps the list's row of the watched tenant in step with the component.
document.addEventListener('provisioning-change', (event) => {
  if (!ACTIVE.has(event.detail.status)) cancelRequested.delete(event.detail.run_id);
  showRow(rowOf(event.detail.tenant_id), event.detail);
});

tenantsBody.addEventListener('click', (event) => {
  const row = event.target.closest('tr');
  if (!row) return;
  const cancel = event.target.closest('button.cancel');
  if (cancel) cancelRun(row, cancel);
  else select(row.dataset.tenant);
});
tenantsBody.addEventListener('keydown', (event) => {
  const row = event.target.closest('tr');
  if (event.target.closest('button')) return;   // a button acts on its own click
  if (row && (event.key === 'Enter' || event.key === ' ')) { event.preventDefault(); select(row.dataset.tenant); }
});

// Inline errors: under the field the gateway's answer names, else under the form.
const FIELDS = ['name', 'engine', 'chart_of_accounts', 'currency'];
function showError(field, text) {
  document.getElementById(`err-${field}`).textContent = text;
  form.elements[field]?.setAttribute('aria-invalid', 'true');
}
function clearErrors() {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}
function fieldOf(err) {
  const text = `${err.body?.message ?? ''} ${err.body?.details ?? ''}`;
  if (err.body?.code === '23503' || /engine/.test(text)) return 'engine';
  if (err.body?.code === '23505' || /company/i.test(text)) return 'name';
  return FIELDS.find((f) => text.includes(`"${f}"`) || text.includes(` ${f} `)) ?? 'form';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  const f = form.elements;
  if (!f.name.value.trim()) { showError('name', 'A workspace needs a name.'); f.name.focus(); return; }
  if (!f.engine.value) { showError('engine', 'Choose an engine.'); return; }
  const settings = { include_demo_data: f.include_demo_data.checked, pos_store_enabled: f.pos_store_enabled.checked };
  for (const key of ['chart_of_accounts', 'currency']) if (f[key].value.trim()) settings[key] = f[key].value.trim();
  const submit = form.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    const [tenant] = await gateway('/tenants?select=id,name,provisioning_status', {
      method: 'POST', prefer: 'return=representation', body: { name: f.name.value.trim(), engine: f.engine.value, settings } });
    select(tenant.id);
    form.reset();
    await loadTenants();
  } catch (err) {
    const hint = err.body?.hint ? ` ${err.body.hint}` : '';
    showError(err.body ? fieldOf(err) : 'form', `${err.message}.${hint}`);
  } finally {
    submit.disabled = false;
  }
});

document.getElementById('who').textContent = token ? '' : 'No token: add #token=<JWT> to the address.';
loadEngines();
loadTenants();
