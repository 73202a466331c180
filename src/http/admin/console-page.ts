/**
 * The operator console: one self-contained page (inline CSS and JS, no build step, no CDN). It
 * holds no data itself: after the operator enters server.adminToken (kept in sessionStorage, so
 * it dies with the tab and is never sent by the browser on its own), it polls
 * /admin/api/state with `Authorization: Bearer` and renders the answer with textContent only
 * (tenant ids and role names come from tokens and must never become markup). The Content-Security-
 * Policy allows exactly this page's own script and style (by hash) and requests to this origin.
 */
import { createHash } from 'node:crypto';

const STYLE = `
[hidden] { display: none !important; }
:root { color-scheme: light dark; --muted: #777; --bad: #c0392b; --warn: #b9770e; --ok: #1e8449; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 1rem 0 .5rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; min-width: 24rem; }
th, td { text-align: left; padding: .2rem .7rem .2rem 0; border-bottom: 1px solid #8884; font-variant-numeric: tabular-nums; }
th { font-weight: 600; }
.muted { color: var(--muted); }
.state-open, .status-suspended, .status-invalid { color: var(--bad); font-weight: 600; }
.state-half_open, .status-maintenance { color: var(--warn); font-weight: 600; }
.state-closed, .status-active { color: var(--ok); }
#error { color: var(--bad); }
form { margin: 2rem 0; display: flex; gap: .5rem; }
input[type=password] { width: 28rem; max-width: 80vw; }
`;

const SCRIPT = `
(() => {
  const KEY = 'sluice-admin-token';
  const POLL_MS = 3000;
  const $ = (id) => document.getElementById(id);
  let timer;

  function cell(tr, value, cls) {
    const td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '—' : String(value);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function fill(id, rows, columns, empty) {
    const body = $(id);
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = columns.length;
      td.className = 'muted';
      td.textContent = empty;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const r of rows) {
      const tr = document.createElement('tr');
      for (const c of columns) {
        const v = typeof c === 'function' ? c(r) : r[c];
        if (v && typeof v === 'object' && 'text' in v) cell(tr, v.text, v.cls); else cell(tr, v);
      }
      body.appendChild(tr);
    }
  }

  const ms = (v) => (v === null || v === undefined ? null : v.toFixed(1) + ' ms');

  function render(s) {
    $('generated').textContent = 'mode ' + s.mode + ' · updated ' + new Date(s.generatedAt).toLocaleTimeString();
    const t = s.tenants;
    $('tenants-note').textContent = t.routed
      ? t.total + ' tenant(s) known' + (t.directory ? ' · directory: ' + t.directory.tenants + ' loaded ' + (t.directory.loadedAt ?? 'never') : '')
      : 'no tenants config: every token uses the connection it names (or the first)';
    fill('tenants', t.list, ['id', 'source', 'connection', 'tier', (r) => ({ text: r.status, cls: 'status-' + r.status })], 'no tenant routes');
    fill('tiers', t.tiers, ['name', 'connection', (r) => ({ text: r.status, cls: 'status-' + r.status }), 'maxConcurrent', 'maxWaiting'], 'no tiers');
    fill('pools', s.connections, ['name', 'dialect',
      (r) => r.pool && r.pool.max, (r) => r.pool && r.pool.open, (r) => r.pool && r.pool.idle,
      (r) => r.pool && r.pool.active, (r) => r.pool && r.pool.waiting,
      (r) => ({ text: r.breaker ?? '—', cls: r.breaker ? 'state-' + r.breaker : '' })], 'no connections');
    $('pool-error').textContent = s.poolError ? 'pool: ' + s.poolError : '';
    const q = s.queue;
    fill('queue', [q], ['waiting', 'running', (r) => r.wait.samples, (r) => ms(r.wait.p50Ms), (r) => ms(r.wait.p99Ms)], '');
    const counts = s.jobs.counts || {};
    fill('jobs', Object.keys(counts).map((k) => ({ state: k, n: counts[k] })), ['state', 'n'], s.jobs.error ? 'unavailable: ' + s.jobs.error : 'no job store');
    fill('refusals', s.refusals, [(r) => new Date(r.at).toLocaleTimeString(), 'code', 'status', 'route', 'role', 'tenant', 'connection', (r) => (r.tables || []).join(', ')], 'no refusals yet');
    $('board').hidden = !s.board;
  }

  async function poll() {
    const token = sessionStorage.getItem(KEY);
    if (!token) return showLogin();
    try {
      const res = await fetch('/admin/api/state', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' });
      if (res.status === 401) {
        sessionStorage.removeItem(KEY);
        return showLogin('The admin token was refused.');
      }
      const body = await res.json();
      if (!res.ok) throw new Error((body.error && body.error.code) || 'HTTP ' + res.status);
      $('error').textContent = '';
      render(body);
    } catch (e) {
      $('error').textContent = 'Could not refresh: ' + (e && e.message ? e.message : e);
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function showLogin(message) {
    clearTimeout(timer);
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
  }

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    clearTimeout(timer);
    poll();
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token').value;
    $('token').value = '';
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    start();
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    showLogin();
  });
  $('board').addEventListener('click', async () => {
    const token = sessionStorage.getItem(KEY);
    const res = await fetch('/admin/api/board-session', { method: 'POST', headers: { authorization: 'Bearer ' + token } });
    if (res.ok) window.open('/admin/queues/', '_blank', 'noopener');
    else $('error').textContent = 'Could not open the queue board (HTTP ' + res.status + ')';
  });
  if (sessionStorage.getItem(KEY)) start(); else showLogin();
})();
`;

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  // The empty inline favicon: otherwise the browser asks /favicon.ico, outside /admin.
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>sluice console</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>sluice console</h1><span id="generated" class="muted"></span><span id="error"></span></header>
<form id="login" hidden>
  <label for="token">Admin token</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Open</button>
  <span id="login-error" class="muted"></span>
</form>
<main id="main" hidden>
<p><button id="logout" type="button">Log out</button> <button id="board" type="button" hidden>BullMQ queues</button></p>
<h2>Tenants</h2><p id="tenants-note" class="muted"></p>
<table><thead><tr><th>tenant</th><th>source</th><th>connection</th><th>tier</th><th>status</th></tr></thead><tbody id="tenants"></tbody></table>
<h2>Tiers</h2>
<table><thead><tr><th>tier</th><th>connection</th><th>status</th><th>maxConcurrent</th><th>maxWaiting</th></tr></thead><tbody id="tiers"></tbody></table>
<h2>Connections</h2><p id="pool-error" class="muted"></p>
<table><thead><tr><th>connection</th><th>dialect</th><th>max</th><th>open</th><th>idle</th><th>active</th><th>waiting</th><th>breaker</th></tr></thead><tbody id="pools"></tbody></table>
<h2>Queue</h2>
<table><thead><tr><th>waiting</th><th>running</th><th>recent statements</th><th>wait p50</th><th>wait p99</th></tr></thead><tbody id="queue"></tbody></table>
<h2>Async jobs</h2>
<table><thead><tr><th>state</th><th>jobs</th></tr></thead><tbody id="jobs"></tbody></table>
<h2>Recent refusals</h2>
<table><thead><tr><th>time</th><th>code</th><th>status</th><th>route</th><th>role</th><th>tenant</th><th>connection</th><th>tables</th></tr></thead><tbody id="refusals"></tbody></table>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
