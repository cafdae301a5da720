import { createHash } from 'node:crypto';
import type { Problem } from './problems';
import type { StatusReport } from './probes';

/**
 * The status page and the login form, rendered on the server: no framework, no script, no external asset. Every
 * value goes through `escapeHtml`; the only style is the constant below, allowed by its hash in the CSP.
 */

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem; color: #1d232b; }
h1 { font-size: 1.4rem; margin: .5rem 0; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #dde2e8; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; } code { font-size: .9em; }
.True, .succeeded { color: #16703a; } .False, .failed, .rolled-back, .refused { color: #b3261e; font-weight: 600; } .Unknown { color: #7a5b00; }
.state { padding: .15rem .5rem; border-radius: .3rem; background: #eef1f5; }
.healthy { background: #dff3e6; } .unhealthy { background: #fde3e1; }
.problems li { margin: .5rem 0; } .problems .todo { display: block; color: #3b4653; }
.muted { color: #5b6673; } form.inline { display: inline; float: right; }
input[type=password] { font: inherit; padding: .35rem; width: 24rem; max-width: 100%; } button { font: inherit; padding: .35rem .9rem; }
.error { color: #b3261e; }
`;

/** The Content-Security-Policy of every page: nothing loads, nothing runs; forms post only here. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function page(title: string, body: string, refreshSeconds?: number): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>`,
    `<body>${body}</body></html>`,
  ].join('\n');
}

/** The login form: a password field posted to /login, so the token is never in a URL. Shows no status at all. */
export function renderLoginPage(options: { readonly error?: string } = {}): string {
  return page(
    'trigger-ops: sign in',
    [
      '<h1>trigger-ops controller</h1>',
      '<p>Enter the admin token to see the installation\'s status: <code>TRIGGER_OPS_ADMIN_TOKEN</code>, or the token the controller printed in its log at first boot.</p>',
      options.error ? `<p class="error" id="login-error" role="alert">${escapeHtml(options.error)}</p>` : '',
      '<form method="post" action="/login" id="login">',
      '<label for="token">Admin token</label><br>',
      '<input type="password" id="token" name="token" autocomplete="current-password" required autofocus> ',
      '<button type="submit">Sign in</button>',
      '</form>',
    ].join('\n'),
  );
}

const dash = '—';
const cell = (v: unknown) => `<td>${v === null || v === undefined || v === '' ? dash : escapeHtml(v)}</td>`;
const row = (...values: unknown[]) => `<tr>${values.map(cell).join('')}</tr>`;
const table = (id: string, head: readonly string[], rows: readonly string[]) =>
  `<table id="${id}"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;

/** "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return dash;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The whole status page for a signed-in person. Refreshes itself every 30 s. */
export function renderStatusPage(report: StatusReport, problems: readonly Problem[]): string {
  const s = report.status;
  const healthy = s !== null && s.conditions.length > 0 && s.conditions.every((c) => c.status === 'True');
  const state = s === null ? 'status unavailable' : s.conditions.length === 0 ? 'not observed yet' : healthy ? 'healthy' : 'NOT healthy';
  const out: string[] = [
    '<form class="inline" method="post" action="/logout"><button type="submit" id="logout">Sign out</button></form>',
    `<h1>Installation <code id="installation">${escapeHtml(report.installationId)}</code>: <span id="state" class="state ${healthy ? 'healthy' : 'unhealthy'}">${escapeHtml(state)}</span>${s?.retiring ? ' (retiring)' : ''}</h1>`,
    `<p class="muted">Read at ${escapeHtml(report.readAt)}; this page refreshes every 30 s.</p>`,
    ...(report.reconciler
      ? [`<p id="controller">Controller: <strong>${escapeHtml(report.reconciler.phase)}</strong> — ${escapeHtml(report.reconciler.message)} (since ${escapeHtml(report.reconciler.since)})</p>`]
      : []),
    '<h2>Needs a person</h2>',
    problems.length === 0
      ? '<p id="problems" class="problems">Nothing needs you.</p>'
      : `<ul id="problems" class="problems">${problems
          .map((p) => `<li><strong>${escapeHtml(p.title)}</strong>: ${escapeHtml(p.detail)}<span class="todo">What to do: ${escapeHtml(p.todo)}</span></li>`)
          .join('')}</ul>`,
  ];
  if (s) {
    const d = s.desired;
    const o = s.observed;
    out.push(
      '<h2>Versions</h2>',
      table('versions', ['', 'desired', 'observed'], [
        row('supervisor', d?.supervisorVersion, o?.supervisor.tag),
        row('webapp', null, report.webappVersion ?? 'not known to the controller'),
      ]),
      '<h2>Droplet</h2>',
      table('droplet', ['name', 'id', 'address', 'state', 'size', 'region', 'image', 'price'], [
        d
          ? row(
              d.droplet.name,
              d.droplet.id,
              o?.droplet.ipv4 ?? d.droplet.ipv4,
              o ? (o.droplet.found ? (o.droplet.status ?? 'unknown') : 'missing') : 'not observed yet',
              d.size,
              d.region,
              d.image,
              d.monthlyPriceUsd === undefined ? null : `$${d.monthlyPriceUsd.toFixed(2)}/month`,
            )
          : row('none deployed', null, null, null, null, null, null, null),
      ]),
      '<h2>Conditions</h2>',
      s.conditions.length === 0
        ? '<p id="conditions">Not observed yet: the first heal check records them.</p>'
        : table('conditions', ['condition', 'status', 'reason', 'message', 'since'], s.conditions.map((c) =>
            `<tr>${cell(c.type)}<td class="${escapeHtml(c.status)}">${escapeHtml(c.status)}</td>${cell(c.reason)}${cell(c.message)}${cell(c.since)}</tr>`,
          )),
      '<h2>Operations</h2>',
      s.current ? `<p id="current">Running: ${escapeHtml(s.current.kind)} (${escapeHtml(s.current.step)}) since ${escapeHtml(s.current.startedAt)}</p>` : '',
      s.queue.length > 0 ? `<p id="queue">Queued: ${s.queue.map((q) => escapeHtml(q.kind)).join(', ')}</p>` : '',
      s.recent.length === 0
        ? '<p id="recent">None yet.</p>'
        : table('recent', ['operation', 'outcome', 'started', 'finished', 'duration', 'message'], s.recent.map((r) =>
            `<tr>${cell(r.kind)}<td class="${escapeHtml(r.outcome)}">${escapeHtml(r.outcome)}</td>${cell(r.startedAt ?? 'never started')}${cell(r.finishedAt)}${cell(
              r.startedAt === null ? null : formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)),
            )}${cell(r.message)}</tr>`,
          )),
      '<h2>Heal</h2>',
      `<p id="repairs">Repairs in the last hour: ${s.repairs.lastHour}/${s.repairs.capPerHour}${s.repairs.backoffUntil ? `, backing off until ${escapeHtml(s.repairs.backoffUntil)}` : ''}.</p>`,
      s.healEvents.length === 0
        ? ''
        : table('heal-events', ['at', 'decision', 'action', 'reason'], s.healEvents.slice(0, 10).map((e) => row(e.at, e.decision, e.action, e.reason))),
    );
  }
  return page(`trigger-ops: ${report.installationId} ${state}`, out.join('\n'), 30);
}
