// <provisioning-status>: a tenant's provisioning, live (spec section 9). One ES module, no
// dependencies, no build step, nothing inline: styles are a constructed stylesheet, so a
// strict Content-Security-Policy (style-src 'self') lets it through.
//
//   <provisioning-status tenant-id="…" api="https://host/api" token="…" interval="2000"
//                        events="https://host/events?tenant_id=…"></provisioning-status>
//
// It reads the status over PostgREST (/rpc/provision_status, /rpc/provision_logs), polls
// while the run is not final (and slowly after a NOT_PROVISIONED run: the extension queues it
// again when the engine answers, spec section 11), and with `events` refreshes on each
// Server-Sent Event, polling then only while the event stream is down. Its buttons call /rpc/provision_retry (or
// /rpc/provision_start) after a run, /rpc/provision_cancel while one is queued or running.
// A run is provisioning (FULL_POS, BASIC) or a lifecycle operation (VERIFY, SUSPEND, RESUME,
// OFFBOARD); the texts follow the run's provisioning_type, and the tenant's status is shown
// beside the run's (SUSPENDED and OFFBOARDED among them).

const FINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'NOT_PROVISIONED', 'CANCELLED']);
// A cancelled run is retried like a failed one: provision_retry goes on from its first step not done.
const RETRYABLE = new Set(['FAILED', 'PARTIAL', 'NOT_PROVISIONED', 'CANCELLED']);
const CANCELLABLE = new Set(['PENDING', 'IN_PROGRESS']);
const ENTERABLE = new Set(['COMPLETED', 'PARTIAL']);
const MIN_INTERVAL_MS = 250;
const MAX_BACKOFF_MS = 30000;
const REQUEST_TIMEOUT_MS = 15000;
// After a run its engine turned away, how often to look for the run its recovery queues
const REQUEUE_WATCH_MS = 5000;

// What a run does, in words: its heading, its status while it runs, what its cancel button
// says. Provisioning (FULL_POS, BASIC) is the default.
const OPERATIONS = {
  PROVISION: { title: 'Workspace provisioning', running: 'Provisioning', noun: 'provisioning' },
  VERIFY: { title: 'Workspace verification', running: 'Verifying', noun: 'verification' },
  SUSPEND: { title: 'Workspace suspension', running: 'Suspending', noun: 'suspension' },
  RESUME: { title: 'Workspace resumption', running: 'Resuming', noun: 'resumption' },
  OFFBOARD: { title: 'Workspace offboarding', running: 'Offboarding', noun: 'offboarding' },
};
const operationOf = (doc) => (OPERATIONS[doc?.provisioning_type] ? doc.provisioning_type : 'PROVISION');

const STATUS_TEXT = {
  PENDING: 'Queued', COMPLETED: 'Completed', PARTIAL: 'Completed with errors',
  FAILED: 'Failed', NOT_PROVISIONED: 'Not provisioned', CANCELLED: 'Cancelled',
};
// The tenant's status (not the run's): a lifecycle run leaves it as it was until it completes.
const TENANT_TEXT = {
  NOT_PROVISIONED: 'not provisioned', PROVISIONING: 'being provisioned', PROVISIONED: 'provisioned',
  PARTIAL: 'provisioned, an optional step failed', FAILED: 'provisioning failed',
  SUSPENDED: 'suspended (point of sale closed and disabled)',
  OFFBOARDED: 'offboarded (documents exported, point of sale and warehouses archived)',
};
const CLOSED_TENANT = new Set(['SUSPENDED', 'OFFBOARDED']);   // nothing to enter
const UNREACHABLE = 'the engine could not be reached. Retry once it is back.';
const FINAL_MESSAGE = {
  PROVISION: {
    COMPLETED: 'Your workspace is ready.',
    PARTIAL: 'Your workspace is ready, but an optional step failed (see the errors).',
    FAILED: 'Provisioning failed. Fix the cause shown in the errors, then retry.',
    NOT_PROVISIONED: 'The workspace was not provisioned: the engine could not be reached. Retry once it is back.',
    CANCELLED: 'Provisioning was cancelled: no step started after the cancel. Retry goes on from the first step not done.',
  },
  VERIFY: {
    COMPLETED: 'Verified: everything the provisioning made is in the engine as it was recorded.',
    FAILED: (doc) => `Verification found ${count(doc.errors?.length ?? 0, 'step')} missing or changed in the engine `
                     + '(each listed above with what is missing). Repair creates what is missing again.',
    NOT_PROVISIONED: `The verification did not run: ${UNREACHABLE}`,
    CANCELLED: 'The verification was cancelled; nothing was changed.',
  },
  SUSPEND: {
    COMPLETED: 'The workspace is suspended: its point-of-sale session is closed and the point of sale disabled. Resume it to reopen.',
    FAILED: 'The suspension failed (see the errors); the workspace keeps its status. Retry once the cause is fixed.',
    NOT_PROVISIONED: `The workspace was not suspended: ${UNREACHABLE}`,
    CANCELLED: 'The suspension was cancelled; the workspace keeps its status.',
  },
  RESUME: {
    COMPLETED: 'The workspace is resumed: its point of sale is enabled and a new session is open.',
    FAILED: 'Resuming failed (see the errors); the workspace keeps its status. Retry once the cause is fixed.',
    NOT_PROVISIONED: `The workspace was not resumed: ${UNREACHABLE}`,
    CANCELLED: 'Resuming was cancelled; the workspace keeps its status.',
  },
  OFFBOARD: {
    COMPLETED: 'The workspace is offboarded: its documents are exported and what was its alone is archived. Nothing was deleted.',
    FAILED: 'Offboarding failed (see the errors); the workspace keeps its status. Retry once the cause is fixed.',
    NOT_PROVISIONED: `The workspace was not offboarded: ${UNREACHABLE}`,
    CANCELLED: 'Offboarding was cancelled; the workspace keeps its status.',
  },
};
const FINAL_TONE = { COMPLETED: 'ok', PARTIAL: 'warn', CANCELLED: 'muted' };
const CANCEL_REQUESTED = 'Cancel requested: the run stops once the step under way has ended.';
// Why a queued run waits (status document's waiting.reason; spec section 11).
const WAITING_TEXT = {
  queue: (since) => `Waiting for a free worker (queued since ${since}).`,
  engine_limit: (since) => `Waiting for the engine: it is at its limit of requests at once, or asked for a pause (since ${since}).`,
  engine_offline: (since) => `Waiting for the engine, offline since ${since}; the run goes on once it answers.`,
};

const count = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const clock = (at) => {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? 'an unknown time' : date.toLocaleTimeString();
};

const CSS = `
:host { --ps-fg: #1b1f24; --ps-muted: #57606a; --ps-bg: #fff; --ps-line: #d0d7de; --ps-accent: #0969da;
  --ps-ok: #1a7f37; --ps-bad: #cf222e; --ps-warn: #9a6700; --ps-track: #eaeef2;
  display: block; font: 14px/1.45 system-ui, sans-serif; color: var(--ps-fg); background: var(--ps-bg);
  border: 1px solid var(--ps-line); border-radius: 8px; padding: 16px; }
@media (prefers-color-scheme: dark) {
  :host { --ps-fg: #e6edf3; --ps-muted: #9198a1; --ps-bg: #0d1117; --ps-line: #30363d; --ps-accent: #4493f8;
    --ps-ok: #3fb950; --ps-bad: #f85149; --ps-warn: #d29922; --ps-track: #21262d; } }
[hidden] { display: none !important; }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
h2 { font-size: 16px; margin: 0; }
[part=status] { font-weight: 600; }
[part=status][data-status=CANCELLED] { color: var(--ps-muted); }
[part=status][data-status=CANCELLED]::before { content: "\\2298\\00a0" / ""; }
[part=progress][data-status=CANCELLED] [part=progress-bar] { background: var(--ps-muted); }
[part=progress] { height: 10px; background: var(--ps-track); border-radius: 5px; overflow: hidden; margin: 10px 0; }
[part=progress-bar] { height: 100%; width: 0; background: var(--ps-accent); transition: width .3s; }
ol { list-style: none; margin: 0; padding: 0; }
[part=step] { display: grid; grid-template-columns: 18px 1fr auto; gap: 8px; align-items: center; padding: 3px 0; }
[part=step][aria-current] { font-weight: 600; }
.dot { width: 12px; height: 12px; border-radius: 50%; border: 2px solid var(--ps-line); box-sizing: border-box; }
[data-status=running] .dot { border-color: var(--ps-accent); border-top-color: transparent; animation: spin 1s linear infinite; }
[data-status=completed] .dot, [data-status=exists] .dot { background: var(--ps-ok); border-color: var(--ps-ok); }
[data-status=skipped] .dot { border-style: dashed; border-color: var(--ps-muted); }
[data-status=failed] .dot { background: var(--ps-bad); border-color: var(--ps-bad); }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { [data-status=running] .dot { animation: none; } [part=progress-bar] { transition: none; } }
.meta { color: var(--ps-muted); font-size: 12px; font-variant-numeric: tabular-nums; }
[part=errors] { margin: 10px 0 0; padding: 0; list-style: none; color: var(--ps-bad); }
[part=message] { margin: 10px 0 0; }
[part=message][data-tone=ok] { color: var(--ps-ok); } [part=message][data-tone=bad] { color: var(--ps-bad); }
[part=message][data-tone=warn] { color: var(--ps-warn); }
[part=message][data-tone=muted] { color: var(--ps-muted); }
[part=connection] { color: var(--ps-warn); font-size: 12px; }
[part=tenant-status] { margin: 4px 0 0; color: var(--ps-muted); }
[part=tenant-status][data-tenant-status=SUSPENDED] { color: var(--ps-warn); }
[part=tenant-status][data-tenant-status=SUSPENDED]::before { content: "\\2016\\00a0" / ""; }
[part=tenant-status][data-tenant-status=OFFBOARDED]::before { content: "\\2298\\00a0" / ""; }
[part=waiting] { margin: 6px 0 0; color: var(--ps-muted); }
[part=stalled] { margin: 6px 0 0; color: var(--ps-warn); font-weight: 600; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 12px; }
button, [part=enter] { font: inherit; border-radius: 6px; padding: 5px 12px; cursor: pointer;
  border: 1px solid var(--ps-line); background: var(--ps-track); color: var(--ps-fg); text-decoration: none; }
[part=enter] { background: var(--ps-ok); border-color: var(--ps-ok); color: #fff; }
[part=cancel] { border-color: var(--ps-bad); color: var(--ps-bad); background: transparent; }
button:disabled { opacity: .6; cursor: default; }
:focus-visible { outline: 2px solid var(--ps-accent); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; margin-top: 8px; font-size: 12px; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--ps-line); vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }`;

// The markup, built with the DOM (no innerHTML: also fine under Trusted Types).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

function skeleton() {
  const row = (...cells) => h('tr', {}, ...cells.map((c) => h('th', {}, c)));
  return [
    h('header', {}, h('h2', { part: 'operation' }, OPERATIONS.PROVISION.title),
      h('span', { part: 'status', role: 'status' }, 'Loading…')),
    h('p', { part: 'tenant-status', role: 'status', 'aria-live': 'polite', hidden: '' }),
    h('div', { part: 'progress', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': '0',
               'aria-valuemax': '100', 'aria-valuenow': '0' }, h('div', { part: 'progress-bar' })),
    h('p', { part: 'waiting', role: 'status', 'aria-live': 'polite', hidden: '' }),
    h('p', { part: 'stalled', role: 'status', 'aria-live': 'polite', hidden: '' }),
    h('ol', { part: 'steps', 'aria-label': 'Steps' }),
    h('ul', { part: 'errors', 'aria-label': 'Errors' }),
    h('p', { part: 'message', role: 'status', 'aria-live': 'polite' }),
    h('p', { part: 'connection', role: 'status', 'aria-live': 'polite' }),
    h('div', { class: 'actions' },
      h('button', { part: 'retry', type: 'button' }, 'Retry'),
      h('button', { part: 'cancel', type: 'button' }, 'Cancel provisioning'),
      h('a', { part: 'enter', target: '_blank', rel: 'noopener' }, 'Enter workspace'),
      h('button', { part: 'logs-toggle', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'logs' }, 'Show logs')),
    h('table', { part: 'logs', id: 'logs', hidden: '' },
      h('thead', {}, row('Time', 'Step', 'Status', 'Message', 'Duration')), h('tbody')),
  ];
}

let sheet;
function styles() {
  if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
  return sheet;
}

// "step_3_chart_of_accounts" -> "Chart of accounts", "suspend_1_close_session" -> "Close session"
export function stepLabel(step) {
  const words = String(step).replace(/^[a-z]+_\d+_/, '').replaceAll('_', ' ').replace(/\bpos\b/g, 'POS');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatDuration(ms) {
  if (ms == null) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// The run's document is final: a run ended. A tenant never provisioned (no run) is not.
const isFinal = (doc) => FINAL.has(doc?.status) && doc.run_id != null;

class GatewayError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export class ProvisioningStatus extends HTMLElement {
  static observedAttributes = ['tenant-id', 'api', 'token', 'interval', 'events'];

  #root; #parts = {}; #steps = new Map();
  #token; #doc = null; #docText = ''; #finishedKey = null; #notice = '';
  #timer = null; #failures = 0; #stopped = false; #busy = false; #again = false;
  #events = null; #eventsOpen = false; #logsOpen = false; #acting = false; #cancelling = false; #generation = 0;
  #cancelledRun = null;   // the run a cancel was accepted for: it still runs until its step ends
  getToken = null;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.adoptedStyleSheets = [styles()];
    this.#root.append(...skeleton());
    for (const el of this.#root.querySelectorAll('[part]')) this.#parts[el.getAttribute('part')] = el;
    this.#parts.retry.remove();
    this.#parts.cancel.remove();
    this.#parts.enter.remove();
    this.#parts.retry.addEventListener('click', () => this.retry());
    this.#parts.cancel.addEventListener('click', () => this.cancel());
    this.#parts['logs-toggle'].addEventListener('click', () => this.#toggleLogs());
  }

  get token() { return this.#token ?? this.getAttribute('token'); }
  set token(value) {
    this.#token = value;
    if (this.#stopped && this.isConnected) this.#restart();   // a new token may be let in
  }
  get status() { return this.#doc; }

  get #interval() {
    const n = Number(this.getAttribute('interval') ?? 2000);
    return Math.max(MIN_INTERVAL_MS, Number.isFinite(n) ? n : 2000);
  }

  connectedCallback() {
    document.addEventListener('visibilitychange', this.#onVisibility);
    this.#restart();
  }

  disconnectedCallback() {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#shutdown();
  }

  attributeChangedCallback(name, before, after) {
    if (!this.isConnected || before === after || name === 'token') return;
    if (name === 'interval') { if (!isFinal(this.#doc)) this.#schedule(this.#interval); }
    else this.#restart();
  }

  // Asks for the status now (also what an event does).
  refresh() {
    if (this.#stopped) return;
    if (this.#busy) { this.#again = true; return; }
    this.#poll();
  }

  // Retry: provision_retry after a run, provision_start for a tenant never provisioned.
  async retry() {
    if (this.#acting || !RETRYABLE.has(this.#doc?.status)) return;
    this.#acting = true;
    this.#renderActions();
    const fn = this.#doc.run_id == null ? 'provision_start' : 'provision_retry';
    try {
      const doc = await this.#call('POST', fn, { tenant_id: this.getAttribute('tenant-id') });
      this.#notice = '';
      this.#accept(doc);
    } catch (err) {
      if (err.status === 409) {
        this.#notice = 'A run is already in progress for this workspace.';   // kept until a run ends
        this.#say(this.#notice, 'warn');
      }
      else if (err.status) this.#say(`Retry refused: ${err.message}`, 'bad');
      else this.#say('Retry failed: the gateway could not be reached.', 'bad');
    } finally {
      this.#acting = false;
      this.#renderActions();
      this.#failures = 0;
      this.#schedule(0);
    }
  }

  // Cancel: provision_cancel for the tenant's queued or running run, with an optional reason
  // (at most 500 characters; the run log keeps it). A queued run ends CANCELLED at once; a
  // running one at its next step boundary, so the answer may still say IN_PROGRESS: the button
  // then says "Cancelling…" until the run ends. Resolves to the status document, or null when
  // the request failed (the component shows why).
  async cancel(reason) {
    if (this.#cancelling || this.#stopped) return null;
    const generation = this.#generation;
    this.#cancelling = true;
    this.#renderActions();
    const args = { tenant_id: this.getAttribute('tenant-id') };
    if (reason != null && reason !== '') args.reason = String(reason);
    try {
      const doc = await this.#call('POST', 'provision_cancel', args);
      if (generation !== this.#generation) return doc;   // the element was pointed elsewhere meanwhile
      if (CANCELLABLE.has(doc?.status)) { this.#cancelledRun = doc.run_id; this.#notice = CANCEL_REQUESTED; }
      this.#accept(doc);
      this.#renderMessage(this.#doc);
      return doc;
    } catch (err) {
      if (generation !== this.#generation) return null;
      if (err.status === 401 || err.status === 403) this.#refuse(err, 'cancel');
      else if (err.status) this.#say(`Cancel refused (HTTP ${err.status}): ${err.message}`, 'bad');
      else this.#say('Cancel failed: the gateway could not be reached.', 'bad');
      return null;
    } finally {
      if (generation === this.#generation) {
        this.#cancelling = false;
        this.#renderActions();
        this.#failures = 0;
        this.#schedule(0);
      }
    }
  }

  #restart() {
    this.#shutdown();
    this.#stopped = false;
    this.#doc = null; this.#docText = ''; this.#finishedKey = null; this.#failures = 0;
    this.#cancelling = false; this.#cancelledRun = null; this.#notice = '';
    const events = this.getAttribute('events');
    if (events) this.#openEvents(events);
    this.#schedule(0);
  }

  #shutdown() {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#events?.close();
    this.#events = null;
    this.#eventsOpen = false;
  }

  #openEvents(url) {
    const source = new EventSource(url);
    source.onopen = () => { this.#eventsOpen = true; this.refresh(); };
    source.onmessage = () => this.refresh();
    source.onerror = () => {
      this.#eventsOpen = false;
      if (!this.#doc || !isFinal(this.#doc)) this.#schedule(this.#interval);
    };
    this.#events = source;
  }

  // Hidden pages do not poll; a page shown again asks at once.
  #onVisibility = () => {
    if (document.visibilityState !== 'visible') { clearTimeout(this.#timer); this.#timer = null; }
    else if (!isFinal(this.#doc)) this.#schedule(0);
  };

  #schedule(delay) {
    clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#stopped || document.visibilityState === 'hidden') return;
    this.#timer = setTimeout(() => { this.#timer = null; this.refresh(); }, delay);
  }

  // One status request; decides when the next one goes.
  async #poll() {
    const generation = this.#generation;
    this.#busy = true;
    let next = null;
    try {
      const doc = await this.#call('GET', 'provision_status', { tenant_id: this.getAttribute('tenant-id') });
      if (generation !== this.#generation) return;
      this.#failures = 0;
      this.#parts.connection.textContent = '';
      this.#accept(doc);
      if (this.#logsOpen) this.#loadLogs();
      if (!this.#eventsOpen && !isFinal(doc)) next = this.#interval;
      else if (!this.#eventsOpen && doc.status === 'NOT_PROVISIONED') next = Math.max(this.#interval, REQUEUE_WATCH_MS);
    } catch (err) {
      if (generation !== this.#generation) return;
      next = this.#failed(err);
    } finally {
      // A stale answer (the element was restarted meanwhile) schedules nothing of its own.
      this.#busy = false;
      if (this.#again) { this.#again = false; next = 0; }
      if (next != null) this.#schedule(next);
    }
  }

  // A refusal stops polling; a network or gateway failure keeps the last state and backs off.
  #failed(err) {
    if (err.status >= 400 && err.status < 500) {
      this.#refuse(err);
      return null;
    }
    this.#failures++;
    const delay = Math.min(MAX_BACKOFF_MS, this.#interval * 2 ** Math.min(this.#failures, 10));
    this.#parts.connection.textContent = `Connection lost; reconnecting in ${Math.ceil(delay / 1000)} s…`;
    return delay;
  }

  // The gateway refused this token or tenant: say so (with what was refused, for an action) and stop.
  #refuse(err, action) {
    this.#stopped = true;
    this.#events?.close();
    clearTimeout(this.#timer);
    this.#timer = null;
    const [status, text] = err.status === 404
      ? ['Not found', 'Not found: this workspace does not exist (or was removed).']
      : err.status === 401 || err.status === 403
        ? ['No access', action
          ? `No access: the gateway refused the ${action} (HTTP ${err.status}): ${err.message}. Sign in again or ask an administrator for access.`
          : `No access: the gateway refused this token (HTTP ${err.status}). Sign in again or ask an administrator for access.`]
        : ['Error', `The gateway refused the request (HTTP ${err.status}): ${err.message}`];
    this.#parts.status.textContent = status;
    delete this.#parts.status.dataset.status;
    this.#say(text, 'bad');
    this.#parts.connection.textContent = '';
    this.#renderActions();
  }

  async #call(method, fn, args) {
    const base = (this.getAttribute('api') ?? '').replace(/\/+$/, '');
    const url = new URL(`${base}/rpc/${fn}`, document.baseURI);
    const headers = { Accept: 'application/json' };
    const token = this.getToken ? await this.getToken() : this.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), cache: 'no-store' };
    if (method === 'GET') url.search = new URLSearchParams(args).toString();
    else { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(args); }
    const res = await fetch(url, init);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new GatewayError(res.status, body);
    return body;
  }

  // A status document arrived: render it and tell the page what changed.
  #accept(doc) {
    const text = JSON.stringify(doc);
    if (text === this.#docText) return;
    this.#doc = doc;
    this.#docText = text;
    this.#render(doc);
    this.#emit('provisioning-change', doc);
    const key = isFinal(doc) ? `${doc.run_id}/${doc.status}` : null;
    if (key && key !== this.#finishedKey) {
      this.#finishedKey = key;
      this.#emit('provisioning-finished', doc);
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #say(text, tone) {
    this.#parts.message.textContent = text;
    this.#parts.message.dataset.tone = tone;
  }

  #render(doc) {
    const p = this.#parts;
    const operation = operationOf(doc);
    p.operation.textContent = OPERATIONS[operation].title;
    p.operation.dataset.operation = doc.provisioning_type ?? '';
    const running = doc.status === 'IN_PROGRESS' ? OPERATIONS[operation].running : null;
    p.status.textContent = `${running ?? STATUS_TEXT[doc.status] ?? doc.status} · ${Number(doc.progress) || 0}%`;
    p.status.dataset.status = doc.status;
    p.progress.dataset.status = doc.status;
    p.progress.setAttribute('aria-label', `${OPERATIONS[operation].title} progress`);
    this.#renderTenantStatus(doc);
    this.#renderWaiting(doc);
    const progress = Number(doc.progress) || 0;
    p.progress.setAttribute('aria-valuenow', String(progress));
    p.progress.setAttribute('aria-valuetext', `${progress}% (${doc.steps_completed} of ${doc.steps_total} steps)`
                                              + (doc.status === 'CANCELLED' ? ', cancelled' : ''));
    p['progress-bar'].style.width = `${progress}%`;
    this.#renderSteps(doc);
    p.errors.replaceChildren(...(doc.errors ?? []).map((e) => {
      const li = document.createElement('li');
      const b = document.createElement('strong');
      b.textContent = `${stepLabel(e.step)}: `;
      li.append(b, String(e.message ?? 'failed'));
      li.dataset.step = e.step;
      return li;
    }));
    this.#renderMessage(doc);
    this.#renderActions();
  }

  // The tenant's status in words; SUSPENDED and OFFBOARDED stand out.
  #renderTenantStatus(doc) {
    const el = this.#parts['tenant-status'];
    const status = doc.tenant_status;
    el.hidden = !status;
    el.dataset.tenantStatus = status ?? '';
    el.textContent = status ? `Workspace: ${TENANT_TEXT[status] ?? status}.` : '';
  }

  // Why a queued run waits, and whether the running step stalled: in words, only when so.
  #renderWaiting(doc) {
    const { waiting, stalled } = this.#parts;
    const reason = doc.waiting?.reason;
    waiting.hidden = !reason;
    waiting.dataset.reason = reason ?? '';
    waiting.textContent = reason
      ? (WAITING_TEXT[reason] ?? ((since) => `Waiting (${reason}) since ${since}.`))(clock(doc.waiting.since)) : '';
    stalled.hidden = doc.stalled !== true;
    stalled.textContent = doc.stalled === true
      ? `Stalled: ${doc.current_step ? stepLabel(doc.current_step) : 'the step under way'} has made no progress for a while `
        + '(provisioning.stall_after). The engine may be hanging: wait, or cancel the run.'
      : '';
  }

  #renderMessage(doc) {
    if (isFinal(doc)) {
      this.#notice = '';
      this.#cancelledRun = null;
      const messages = FINAL_MESSAGE[operationOf(doc)];
      const text = messages[doc.status] ?? FINAL_MESSAGE.PROVISION[doc.status] ?? doc.status;
      this.#say(typeof text === 'function' ? text(doc) : text, FINAL_TONE[doc.status] ?? 'bad');
    } else if (doc.run_id == null) this.#say('This workspace has not been provisioned yet.', '');
    else this.#say(this.#notice, 'warn');
  }

  #renderSteps(doc) {
    const keys = (doc.steps ?? []).map((s) => s.step);
    if (keys.join() !== [...this.#steps.keys()].join()) {
      this.#steps = new Map(keys.map((k) => [k, this.#stepItem(k)]));
      this.#parts.steps.replaceChildren(...this.#steps.values());
    }
    // A verification finds (exists) or misses (failed) what the provisioning recorded.
    const words = doc.provisioning_type === 'VERIFY' ? { exists: 'found', failed: 'missing or changed' } : {};
    for (const s of doc.steps ?? []) {
      const li = this.#steps.get(s.step);
      li.dataset.status = s.status;
      li.toggleAttribute('aria-current', s.step === doc.current_step);
      if (s.step === doc.current_step) li.setAttribute('aria-current', 'step');
      li.querySelector('.meta').textContent = [words[s.status] ?? s.status, formatDuration(s.duration_ms),
                                               s.attempts > 1 ? `${s.attempts} attempts` : ''].filter(Boolean).join(' · ');
      li.title = s.message ?? '';
    }
  }

  #stepItem(step) {
    const li = document.createElement('li');
    li.setAttribute('part', 'step');
    li.dataset.step = step;
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.textContent = stepLabel(step);
    const meta = document.createElement('span');
    meta.className = 'meta';
    li.append(dot, label, meta);
    return li;
  }

  // Retry only after a run that can be retried, Cancel only while one is queued or running;
  // Enter once there is a workspace to enter (not while it is suspended or offboarded).
  #renderActions() {
    const doc = this.#doc;
    const actions = this.#root.querySelector('.actions');
    const retry = this.#parts.retry;
    if (!this.#stopped && doc && RETRYABLE.has(doc.status)) {
      // after a verification, provision_retry repairs: it creates what was found missing
      retry.textContent = doc.run_id == null ? 'Provision' : doc.provisioning_type === 'VERIFY' ? 'Repair' : 'Retry';
      retry.disabled = this.#acting;   // a request in flight; a running run shows no button
      if (!retry.isConnected) actions.prepend(retry);
    } else retry.remove();
    const cancel = this.#parts.cancel;
    if (!this.#stopped && doc && CANCELLABLE.has(doc.status)) {
      const requested = this.#cancelledRun != null && this.#cancelledRun === doc.run_id;
      cancel.textContent = requested ? 'Cancelling…' : `Cancel ${OPERATIONS[operationOf(doc)].noun}`;
      cancel.disabled = this.#cancelling || requested;   // a request in flight, or a cancel the run acts on soon
      if (this.#cancelling) cancel.setAttribute('aria-busy', 'true'); else cancel.removeAttribute('aria-busy');
      if (!cancel.isConnected) actions.prepend(cancel);
    } else cancel.remove();
    const enter = this.#parts.enter;
    if (doc && ENTERABLE.has(doc.status) && doc.workspace_url && !CLOSED_TENANT.has(doc.tenant_status)) {
      enter.href = doc.workspace_url;
      if (!enter.isConnected) retry.isConnected ? retry.after(enter) : actions.prepend(enter);
    } else enter.remove();
  }

  #toggleLogs() {
    this.#logsOpen = !this.#logsOpen;
    const toggle = this.#parts['logs-toggle'];
    toggle.setAttribute('aria-expanded', String(this.#logsOpen));
    toggle.textContent = this.#logsOpen ? 'Hide logs' : 'Show logs';
    this.#parts.logs.hidden = !this.#logsOpen;
    if (this.#logsOpen) this.#loadLogs();
  }

  async #loadLogs() {
    let rows;
    try {
      rows = await this.#call('GET', 'provision_logs', { tenant_id: this.getAttribute('tenant-id') });
    } catch {
      return;   // the status request reports the failure; the table keeps what it showed
    }
    this.#parts.logs.tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      const cells = [new Date(r.at).toLocaleTimeString(), r.step ? stepLabel(r.step) : 'run', r.status,
                     r.message ?? '', formatDuration(r.duration_ms)];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = text;
        if (i === 4) td.className = 'num';
        tr.append(td);
      }
      return tr;
    }));
  }
}

if (!customElements.get('provisioning-status')) customElements.define('provisioning-status', ProvisioningStatus);
