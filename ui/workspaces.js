// The admin page: create a workspace (a tenant row, POST /tenants through PostgREST), list
// the tenants with their status and their latest run's, cancel a queued or running run, and
// watch the selected one with <provisioning-status> (which also does the cancelling).
// Per tenant it offers the lifecycle operations its status allows (verify to members and
// admins; suspend, resume, offboard to admins, suspend and offboard with a reason), says a
// refusal in words, and after an offboarding shows how many documents of each kind the
// export holds.
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
const tenantsById = new Map();       // id -> { name, status, provisioned, run: { id, status, type } }

// The token's role claim decides what the page offers; the database decides what is allowed
// (a refusal is shown in words). The claims are read, not verified: the gateway does that.
function claimsOf(jwt) {
  try {
    const b64 = jwt.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}
const isAdmin = claimsOf(token).role === 'provisioning_admin';

// The lifecycle operations (README, "Lifecycle operations"): who is offered each, and from
// which tenant status. None is offered while the tenant has a run queued or running.
const OPERATIONS = [
  { key: 'verify', fn: 'provision_verify', label: 'Verify', past: 'verified', admin: false,
    allows: (t) => ['PROVISIONED', 'PARTIAL'].includes(t.status) },
  { key: 'suspend', fn: 'provision_suspend', label: 'Suspend', past: 'suspended', admin: true, reason: true,
    help: 'Its point-of-sale session is closed and its point of sale disabled; Resume reopens it.',
    allows: (t) => ['PROVISIONED', 'PARTIAL'].includes(t.status) },
  { key: 'resume', fn: 'provision_resume', label: 'Resume', past: 'resumed', admin: true,
    allows: (t) => ['SUSPENDED', 'OFFBOARDED'].includes(t.status) },
  { key: 'offboard', fn: 'provision_offboard', label: 'Offboard', past: 'offboarded', admin: true, reason: true,
    help: 'Its point of sale is closed, every document of its company exported, and what is its alone archived. Nothing is deleted; Resume reopens it.',
    allows: (t) => t.status !== 'OFFBOARDED' && t.provisioned },
];
const operation = (key) => OPERATIONS.find((o) => o.key === key);

class GatewayError extends Error {
  constructor(status, body) { super(body?.message ?? `HTTP ${status}`); Object.assign(this, { status, body }); }
}

async function gateway(path, { method = 'GET', body, prefer } = {}) {   // the parsed answer; GatewayError on a refusal
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
  const runs = await gateway(`/tenant_onboarding?select=id,tenant_id,status,provisioning_type&tenant_id=in.(${ids.join(',')})&order=created_at.desc`);
  const latest = new Map();
  for (const r of runs) if (!latest.has(r.tenant_id)) latest.set(r.tenant_id, r);
  return latest;
}

async function loadTenants() {
  let tenants, runs;
  try {
    tenants = await gateway('/tenants?select=id,name,provisioning_status,provisioned_at&order=created_at.desc&limit=100');
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
    const buttons = document.createElement('div');
    buttons.className = 'row-actions';
    action.append(buttons);
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'cancel';
    cancel.setAttribute('aria-label', `Cancel the provisioning of ${t.name}`);
    buttons.append(cancel);
    for (const op of OPERATIONS.filter((o) => isAdmin || !o.admin)) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'op';
      button.dataset.op = op.key;
      button.textContent = op.label;
      button.setAttribute('aria-label', `${op.label} ${t.name}`);
      button.hidden = true;
      buttons.append(button);
    }
    row.append(name, status, run, action);
    tenantsById.set(t.id, { name: t.name, provisioned: t.provisioned_at != null });
    const latest = runs.get(t.id);
    showRow(row, { tenant_status: t.provisioning_status, status: latest?.status, run_id: latest?.id,
                   provisioning_type: latest?.provisioning_type });
    return row;
  }));
  // The watched tenant: what the component last saw may be newer than the list's read.
  const doc = selected.querySelector('provisioning-status')?.status;
  if (doc) showRow(rowOf(doc.tenant_id), doc);
}

const rowOf = (tenantId) => [...tenantsBody.rows].find((r) => r.dataset.tenant === tenantId);

// A row's tenant status, its latest run's status (— for none; a lifecycle run's with its
// operation: "SUSPEND · COMPLETED"), Cancel while that run is queued or running ("Cancelling…"
// once a cancel was accepted and the run finishes its step), else the operations the tenant's
// status allows.
const LIFECYCLE = new Set(['VERIFY', 'SUSPEND', 'RESUME', 'OFFBOARD']);
function showRow(row, { tenant_status: tenantStatus, status, run_id: runId, provisioning_type: type }) {
  if (!row) return;
  const tenant = tenantsById.get(row.dataset.tenant);
  tenant.status = tenantStatus;
  if (['PROVISIONED', 'PARTIAL'].includes(tenantStatus)) tenant.provisioned = true;
  tenant.run = runId ? { id: runId, status, type } : null;
  row.dataset.tenantStatus = tenantStatus;
  row.querySelector('.status').textContent = tenantStatus;
  const run = row.querySelector('.run');
  run.textContent = runId ? (LIFECYCLE.has(type) ? `${type} · ${status}` : status) : '—';
  run.dataset.status = runId ? status : '';
  const active = Boolean(runId && ACTIVE.has(status));
  const cancel = row.querySelector('.cancel');
  const requested = cancelRequested.has(runId);
  cancel.hidden = !active;
  cancel.textContent = requested ? 'Cancelling…' : 'Cancel';
  cancel.disabled = requested;
  for (const button of row.querySelectorAll('button.op')) {
    button.hidden = active || !operation(button.dataset.op).allows(tenant);
  }
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
  const exports = document.createElement('section');
  exports.className = 'exports';
  exports.hidden = true;
  selected.replaceChildren(status, exports);
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

// What the page says about an operation asked for from the list: its outcome, or why the
// gateway refused it, in words.
const actionMessage = document.getElementById('action-message');
function say(text, tone = '') {
  actionMessage.textContent = text;
  actionMessage.dataset.tone = tone;
}

function refusal(op, name, err) {
  if (!err.status) return `${op.label} ${name}: the gateway could not be reached. Try again.`;
  const message = err.body?.message ?? err.message;
  const hint = err.body?.hint ? ` ${err.body.hint}` : '';
  if (err.body?.code === '0A000' || err.status === 501) {
    return `${op.label} ${name}: not supported — the workspace's engine cannot be ${op.past} (yet): ${message}.`;
  }
  switch (err.status) {
    case 409: {
      if (/already queued or in progress/.test(message)) {
        return `${op.label} ${name} refused (HTTP 409): a run is already queued or in progress for it; wait for it to end.`;
      }
      const now = /\bis ([A-Z_]+):/.exec(message)?.[1];
      return `${op.label} ${name} refused (HTTP 409): it cannot be ${op.past} while it is ${now ?? 'in its present status'}`
             + ' (the list was out of date; it has been read again).';
    }
    case 401: return `${op.label} ${name} refused (HTTP 401): you are not signed in, or your session expired. Sign in again.`;
    case 403: return `${op.label} ${name} refused (HTTP 403): you are not allowed to do this (${message}).`
                     + ' Ask an administrator.';
    case 404: return `${op.label} ${name} refused (HTTP 404): this workspace no longer exists.`;
    default: return `${op.label} ${name} refused (HTTP ${err.status}): ${message}.${hint}`;
  }
}

// Asks for the reason of a suspend or an offboard in a modal dialog; resolves to the reason,
// or null when the dialog was left (Back, Escape). Focus returns to what opened it.
const dialog = document.getElementById('reason-dialog');
const reasonForm = document.getElementById('reason-form');
function askReason(op, name, opener) {
  document.getElementById('reason-title').textContent = `${op.label} ${name}`;
  document.getElementById('reason-help').textContent = `${op.help} The reason is kept in the audit (at most 500 characters).`;
  document.getElementById('reason-confirm').textContent = op.label;
  const input = reasonForm.elements.reason;
  input.value = '';
  input.removeAttribute('aria-invalid');
  document.getElementById('err-reason').textContent = '';
  return new Promise((resolve) => {
    let answer = null;
    const submit = (event) => {
      event.preventDefault();
      const reason = input.value.trim();
      if (!reason) {
        document.getElementById('err-reason').textContent = `Say why the workspace is ${op.past}.`;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      answer = reason;
      dialog.close();
    };
    const back = () => dialog.close();
    dialog.addEventListener('close', () => {
      reasonForm.removeEventListener('submit', submit);
      document.getElementById('reason-back').removeEventListener('click', back);
      const row = opener.closest('tr');
      (opener.isConnected && !opener.hidden ? opener : row)?.focus();
      resolve(answer);
    }, { once: true });
    reasonForm.addEventListener('submit', submit);
    input.addEventListener('input', () => {
      document.getElementById('err-reason').textContent = '';
      input.removeAttribute('aria-invalid');
    }, { once: true });
    document.getElementById('reason-back').addEventListener('click', back);
    dialog.showModal();
    input.focus();
  });
}

// An operation from the list: selects the tenant (its component shows the run), asks for a
// reason where one is needed, sends the request, and says what came of it.
async function operate(row, button) {
  const op = operation(button.dataset.op);
  const tenantId = row.dataset.tenant;
  const { name } = tenantsById.get(tenantId);
  let reason;
  if (op.reason) {
    reason = await askReason(op, name, button);
    if (reason == null) return;
  }
  const component = select(tenantId);
  button.disabled = true;
  say(`${op.label} ${name}: sending…`);
  try {
    const doc = await gateway(`/rpc/${op.fn}`, { method: 'POST',
                                                 body: reason == null ? { tenant_id: tenantId } : { tenant_id: tenantId, reason } });
    say(`${op.label} ${name}: queued. Its progress is shown beside the list.`, 'ok');
    showRow(rowOf(tenantId), doc);
    component.refresh();
  } catch (err) {
    say(refusal(op, name, err), 'bad');
    if (err.status === 409 || err.status === 404) loadTenants();
  } finally {
    button.disabled = false;
    if (button.hidden && document.activeElement === button) row.focus();
    else if (!document.activeElement || document.activeElement === document.body) row.focus();
  }
}

// After an offboarding: how many documents of each kind its export holds. One request of the
// kind column alone, counted here (PostgREST's aggregates are off by default).
async function showExports(doc) {
  const box = selected.querySelector('section.exports');
  if (!box || box.dataset.run === doc.run_id) return;
  box.dataset.run = doc.run_id;
  let runId = doc.run_id;
  try {
    if (doc.provisioning_type !== 'OFFBOARD' || doc.status !== 'COMPLETED') {
      const [run] = await gateway(`/tenant_onboarding?select=id&tenant_id=eq.${doc.tenant_id}`
                                  + '&provisioning_type=eq.OFFBOARD&status=eq.COMPLETED&order=created_at.desc&limit=1');
      if (!run) return;
      runId = run.id;
    }
    const rows = await gateway(`/tenant_exports?select=kind&run_id=eq.${runId}`);
    const counts = new Map();
    for (const { kind } of rows) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const titleId = `exports-title-${runId}`;
    const title = document.createElement('h3');
    title.id = titleId;
    title.textContent = `Export: ${rows.length} document${rows.length === 1 ? '' : 's'}`;
    const table = document.createElement('table');
    table.setAttribute('aria-labelledby', titleId);
    const head = table.createTHead().insertRow();
    for (const text of ['Kind', 'Documents']) head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: text }));
    const body = table.createTBody();
    for (const [kind, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
      const tr = body.insertRow();
      tr.dataset.kind = kind;
      tr.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: kind }));
      tr.append(Object.assign(document.createElement('td'), { className: 'num', textContent: String(n) }));
    }
    const note = document.createElement('p');
    note.textContent = 'Kept in provisioning.tenant_exports until an administrator deletes them.';
    box.replaceChildren(title, table, note);
    box.setAttribute('aria-labelledby', titleId);
    box.hidden = false;
  } catch (err) {
    box.replaceChildren(Object.assign(document.createElement('p'), {
      className: 'field-error', textContent: `The export could not be read (${err.status ? `HTTP ${err.status}: ` : ''}${err.message}).` }));
    box.hidden = false;
  }
}

// Keeps the list's row of the watched tenant in step with the component; an offboarded
// tenant's component gets its export's counts beside it.
document.addEventListener('provisioning-change', (event) => {
  const doc = event.detail;
  if (!ACTIVE.has(doc.status)) cancelRequested.delete(doc.run_id);
  showRow(rowOf(doc.tenant_id), doc);
  if (doc.tenant_status === 'OFFBOARDED' && !ACTIVE.has(doc.status) && doc.tenant_id === selectedId) showExports(doc);
});

tenantsBody.addEventListener('click', (event) => {
  const row = event.target.closest('tr');
  if (!row) return;
  const cancel = event.target.closest('button.cancel');
  const op = event.target.closest('button.op');
  if (cancel) cancelRun(row, cancel);
  else if (op) operate(row, op);
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
