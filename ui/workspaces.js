// The admin page: create a workspace (a tenant row, POST /tenants through PostgREST), list
// the tenants with their status, and watch the selected one with <provisioning-status>.
import './provisioning-status.js';

const config = new URLSearchParams(location.hash.slice(1));
const api = new URL(config.get('api') ?? '../', location.href).href.replace(/\/+$/, '');
const token = config.get('token') ?? '';
const form = document.getElementById('create');
const tenantsBody = document.getElementById('tenants');
const selected = document.getElementById('selected');
let selectedId = null;

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

async function loadTenants() {
  let tenants;
  try {
    tenants = await gateway('/tenants?select=id,name,provisioning_status&order=created_at.desc&limit=100');
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
    name.textContent = t.name;
    const status = document.createElement('td');
    status.className = 'status';
    status.textContent = t.provisioning_status;
    row.append(name, status);
    return row;
  }));
}

function select(tenantId) {
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
}

// Keeps the list's status of the watched tenant in step with the component.
document.addEventListener('provisioning-change', (event) => {
  const row = [...tenantsBody.rows].find((r) => r.dataset.tenant === event.detail.tenant_id);
  if (row) row.querySelector('.status').textContent = event.detail.tenant_status;
});

tenantsBody.addEventListener('click', (event) => {
  const row = event.target.closest('tr');
  if (row) select(row.dataset.tenant);
});
tenantsBody.addEventListener('keydown', (event) => {
  const row = event.target.closest('tr');
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
