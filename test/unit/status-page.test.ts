import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { ADMIN_TOKEN_FILE, resolveAdminToken } from '../../src/controller/admin-token';
import { problemsFrom } from '../../src/controller/problems';
import type { StatusReport } from '../../src/controller/probes';
import { formatDuration, renderLoginPage, renderStatusPage } from '../../src/controller/status-page';
import { CONDITION_TYPES, type Condition } from '../../src/shared/heal-policy';
import { DEFAULT_LIFECYCLE_SETTINGS, type InstallationStatus } from '../../src/shared/lifecycle';
import { ConfigError } from '../../src/shared/errors';

const NOW = Date.parse('2026-08-21T10:30:00.000Z');
const HOSTILE = '<img src=x onerror=alert(1)>"\'&';

function condition(type: Condition['type'], status: Condition['status'] = 'True', reason = 'Ok', message = 'fine'): Condition {
  return { type, status, reason, message, since: '2026-08-21T10:00:00.000Z' };
}

function report(status: Partial<InstallationStatus> | null, extra: Partial<StatusReport> = {}): StatusReport {
  return {
    installationId: 'prod',
    readAt: '2026-08-21T10:30:00.000Z',
    status:
      status === null
        ? null
        : {
            installationId: 'prod',
            desired: null,
            observed: null,
            conditions: CONDITION_TYPES.map((t) => condition(t)),
            current: null,
            queue: [],
            recent: [],
            healEvents: [],
            orphans: [],
            repairs: { lastHour: 0, capPerHour: 6, backoffUntil: null, consecutiveFailures: 0 },
            settings: DEFAULT_LIFECYCLE_SETTINGS,
            runs: 0,
            retiring: false,
            ...status,
          },
    unavailable: status === null ? { kind: 'not-deployed', message: 'there is no installation entity installation:prod yet' } : null,
    configurationError: null,
    webappVersion: null,
    reconciler: null,
    ...extra,
  };
}

describe('problemsFrom: what needs a person', () => {
  it('finds nothing in a healthy installation', () => {
    assert.deepEqual(problemsFrom(report({}), NOW), []);
  });

  it('says what to do for each False condition, by its reason', () => {
    const problems = problemsFrom(report({ conditions: [condition('SshReachable', 'False', 'HostKeyMismatch', 'host key differs'), condition('CredentialsAccepted', 'False', 'CredentialsRejected', 'HTTP 401')] }), NOW);
    assert.deepEqual(problems.map((p) => p.title), ['SshReachable is False (HostKeyMismatch)', 'CredentialsAccepted is False (CredentialsRejected)']);
    assert.match(problems[0]?.todo ?? '', /nothing is sent to it.*trigger-ops migrate -i prod/);
    assert.match(problems[1]?.todo ?? '', /TRIGGER_WORKER_TOKEN or TRIGGER_ADMIN_TOKEN/);
  });

  it('lists a configuration error first, then an unreadable status with what to do', () => {
    const problems = problemsFrom(report(null, { configurationError: 'DIGITALOCEAN_TOKEN: refused (401)' }), NOW);
    assert.deepEqual(problems.map((p) => p.title), ["The controller's configuration is wrong", "The installation's status cannot be read"]);
    assert.match(problems[1]?.todo ?? '', /trigger-ops deploy -i prod/);
  });

  it('reports a backoff only while it lasts, and orphans with whether heal removes them', () => {
    const orphans = [
      { kind: 'droplet' as const, id: '7', name: 'tops-prod-g1', reason: 'another generation', removable: true, since: '2026-08-21T10:01:00.000Z' },
      { kind: 'droplet' as const, id: '8', name: 'my-box', reason: 'tagged, not a name trigger-ops gives', removable: false, since: '2026-08-21T10:02:00.000Z' },
    ];
    const backingOff = { lastHour: 2, capPerHour: 6, backoffUntil: '2026-08-21T10:31:00.000Z', consecutiveFailures: 2 };
    const titles = (s: Partial<InstallationStatus>) => problemsFrom(report(s), NOW).map((p) => p.title);
    assert.deepEqual(titles({ repairs: backingOff, orphans }), ['Heal is backing off', 'Orphan droplet tops-prod-g1 (id 7)', 'Orphan droplet my-box (id 8)']);
    assert.deepEqual(titles({ repairs: { ...backingOff, backoffUntil: '2026-08-21T10:29:00.000Z' } }), []);
    const todos = problemsFrom(report({ orphans }), NOW).map((p) => p.todo);
    assert.match(todos[0] ?? '', /heal removes it 600 s after/);
    assert.match(todos[1] ?? '', /never removes it/);
  });

  it('repeats what heal refused to do by itself, and a failed last operation', () => {
    const problems = problemsFrom(
      report({
        healEvents: [{ at: '2026-08-21T10:20:00.000Z', action: 'operator', decision: 'needs-operator', reason: 'SshReachable is False (HostKeyMismatch)' }],
        recent: [{ id: 'op-3', kind: 'upgrade', outcome: 'rolled-back', message: 'v4.5.12 did not connect', requestedAt: '2026-08-21T10:10:00.000Z', startedAt: '2026-08-21T10:10:01.000Z', finishedAt: '2026-08-21T10:12:00.000Z' }],
      }),
      NOW,
    );
    assert.deepEqual(problems.map((p) => p.title), ['Heal will not repair this by itself', 'The last operation (upgrade) was rolled back']);
  });
});

describe('the status page', () => {
  it('escapes every value it shows', () => {
    const html = renderStatusPage(
      report(
        {
          conditions: [condition('DropletActive', 'False', 'NotActive', HOSTILE)],
          recent: [{ id: 'op-1', kind: 'heal', outcome: 'failed', message: HOSTILE, requestedAt: '2026-08-21T10:00:00.000Z', startedAt: '2026-08-21T10:00:00.000Z', finishedAt: '2026-08-21T10:00:02.500Z' }],
        },
        { configurationError: HOSTILE, installationId: HOSTILE },
      ),
      problemsFrom(report({}, { configurationError: HOSTILE }), NOW),
    );
    assert.ok(!html.includes('<img'), 'no markup from a value');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;'));
    assert.match(html, /<td>2\.5 s<\/td>/);
    assert.doesNotMatch(html, /<script|https?:\/\//, 'no script and no external asset');
  });

  it('the login form posts the token (a password field) and shows no status', () => {
    const html = renderLoginPage({ error: HOSTILE });
    assert.match(html, /<form method="post" action="\/login" id="login">/);
    assert.match(html, /<input type="password" id="token" name="token"/);
    assert.ok(!html.includes('<img'));
  });

  it('formats durations for people', () => {
    assert.deepEqual([850, 12_340, 245_000, -1].map(formatDuration), ['850 ms', '12.3 s', '4 min 05 s', '—']);
  });
});

describe('resolveAdminToken', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trigger-ops-admin-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('generates one at first boot into the data dir (0600), shows it once, and reuses it on later boots', () => {
    const first: string[] = [];
    const made = resolveAdminToken({ adminToken: undefined, dataDir }, (m) => first.push(m));
    assert.equal(made.source, 'generated');
    assert.match(made.token, /^[A-Za-z0-9_-]{43}$/);
    const file = join(dataDir, ADMIN_TOKEN_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), made.token);
    assert.equal(first.filter((m) => m.includes(made.token)).length, 1);

    const second: string[] = [];
    const again = resolveAdminToken({ adminToken: undefined, dataDir }, (m) => second.push(m));
    assert.deepEqual(again, { token: made.token, source: 'data-dir' });
    assert.ok(!second.join('\n').includes(made.token), 'a later boot does not show it again');
  });

  it('takes TRIGGER_OPS_ADMIN_TOKEN when set, and refuses a short one naming the variable', () => {
    const config = loadConfig({ TRIGGER_OPS_ADMIN_TOKEN: 'a-chosen-admin-token-123', TRIGGER_OPS_DATA_DIR: dataDir });
    const logged: string[] = [];
    assert.deepEqual(resolveAdminToken(config, (m) => logged.push(m)), { token: 'a-chosen-admin-token-123', source: 'environment' });
    assert.deepEqual(logged, []);
    assert.throws(() => loadConfig({ TRIGGER_OPS_ADMIN_TOKEN: 'short' }), (err: unknown) => err instanceof ConfigError && /TRIGGER_OPS_ADMIN_TOKEN: must be at least 16 characters/.test(err.message));
  });

  it('refuses a kept file that holds no usable token, saying what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-admin-bad-'));
    try {
      writeFileSync(join(dir, ADMIN_TOKEN_FILE), 'x\n', { mode: 0o600 });
      assert.throws(() => resolveAdminToken({ adminToken: undefined, dataDir: dir }, () => undefined), /delete it to generate a new one, or set TRIGGER_OPS_ADMIN_TOKEN/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
