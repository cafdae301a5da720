import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONDITION_TYPES,
  conditionsFrom,
  decideHeal,
  decideRepair,
  FRESH_BUDGET,
  repairEnded,
  repairStarted,
  type Condition,
  type ConditionType,
  type Observation,
  type RepairAction,
  type RepairBudget,
} from '../../src/shared/heal-policy';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const HOUR = 3_600_000;

function healthyObservation(): Observation {
  return {
    at: new Date(NOW).toISOString(),
    droplet: { found: true, status: 'active', ipv4: '127.0.0.2' },
    ssh: { ok: true, error: null, hostKeyMismatch: false },
    docker: { running: true },
    supervisor: { running: true, restarting: false, connected: true, tag: 'v4.5.12', restartCount: 0 },
    disk: { freePercent: 50 },
    config: { hash: 'h', desiredHash: 'h' },
    credentials: { accepted: true, status: 200, error: null },
    calls: { digitalocean: 1, ssh: 1, railway: 1, webapp: 1 },
  };
}

const desired = { supervisorVersion: 'v4.5.12' };
const conditions = (o: Observation, previous: readonly Condition[] = []) => conditionsFrom(o, desired, 10, previous);

/** One broken fact at a time, each with the condition it breaks, its reason and the smallest repair. */
const FAULTS: readonly { what: string; change: (o: Observation) => Observation; condition: ConditionType; reason: string; action: RepairAction }[] = [
  { what: 'droplet deleted', change: (o) => ({ ...o, droplet: { found: false, status: null, ipv4: null } }), condition: 'DropletActive', reason: 'DropletMissing', action: 'replace-droplet' },
  { what: 'droplet off', change: (o) => ({ ...o, droplet: { ...o.droplet, status: 'off' } }), condition: 'DropletActive', reason: 'PoweredOff', action: 'power-on' },
  { what: 'droplet archived', change: (o) => ({ ...o, droplet: { ...o.droplet, status: 'archive' } }), condition: 'DropletActive', reason: 'NotActive', action: 'power-cycle' },
  { what: 'ssh refused', change: (o) => ({ ...o, ssh: { ok: false, error: 'ECONNREFUSED', hostKeyMismatch: false } }), condition: 'SshReachable', reason: 'Unreachable', action: 'power-cycle' },
  { what: 'host key changed', change: (o) => ({ ...o, ssh: { ok: false, error: 'mismatch', hostKeyMismatch: true } }), condition: 'SshReachable', reason: 'HostKeyMismatch', action: 'operator' },
  { what: 'docker stopped', change: (o) => ({ ...o, docker: { running: false } }), condition: 'DockerRunning', reason: 'DockerStopped', action: 'start-docker' },
  { what: 'disk full', change: (o) => ({ ...o, disk: { freePercent: 3 } }), condition: 'DiskHasRoom', reason: 'DiskShort', action: 'prune' },
  { what: 'config drift', change: (o) => ({ ...o, config: { hash: 'other', desiredHash: 'h' } }), condition: 'ConfigCurrent', reason: 'ConfigDrift', action: 'reapply-config' },
  { what: 'credentials rejected', change: (o) => ({ ...o, credentials: { accepted: false, status: 401, error: 'rejected' } }), condition: 'CredentialsAccepted', reason: 'CredentialsRejected', action: 'reapply-config' },
  { what: 'wrong version running', change: (o) => ({ ...o, supervisor: { ...o.supervisor, tag: 'v4.5.11' } }), condition: 'SupervisorConnected', reason: 'WrongVersion', action: 'reapply-config' },
  { what: 'supervisor exited', change: (o) => ({ ...o, supervisor: { ...o.supervisor, running: false, connected: false } }), condition: 'SupervisorRunning', reason: 'NotRunning', action: 'restart-supervisor' },
  { what: 'supervisor crash-looping', change: (o) => ({ ...o, supervisor: { ...o.supervisor, restarting: true } }), condition: 'SupervisorRunning', reason: 'Restarting', action: 'restart-supervisor' },
  { what: 'supervisor not connected', change: (o) => ({ ...o, supervisor: { ...o.supervisor, connected: false } }), condition: 'SupervisorConnected', reason: 'NotConnected', action: 'restart-supervisor' },
];

const BUDGETS: readonly { what: string; budget: RepairBudget; held: 'capped' | 'backing-off' | null }[] = [
  { what: 'a fresh budget', budget: FRESH_BUDGET, held: null },
  { what: 'repairs below the cap', budget: { ...FRESH_BUDGET, repairTimes: [NOW - 10 * 60_000, NOW - 5 * 60_000] }, held: null },
  { what: 'repairs at the cap', budget: { ...FRESH_BUDGET, repairTimes: [1, 2, 3].map((i) => NOW - i * 60_000) }, held: 'capped' },
  { what: 'cap reached only by repairs older than an hour', budget: { ...FRESH_BUDGET, repairTimes: [1, 2, 3].map((i) => NOW - HOUR - i) }, held: null },
  { what: 'a backoff still running', budget: { repairTimes: [], consecutiveFailures: 2, backoffUntil: NOW + 30_000 }, held: 'backing-off' },
  { what: 'a backoff that has expired', budget: { repairTimes: [], consecutiveFailures: 2, backoffUntil: NOW - 1 }, held: null },
  { what: 'both the cap and a backoff', budget: { repairTimes: [1, 2, 3].map((i) => NOW - i), consecutiveFailures: 1, backoffUntil: NOW + 1 }, held: 'capped' },
];
const SETTINGS = { repairCapPerHour: 3, repairBackoffSeconds: 30 };

describe('heal policy (src/shared/heal-policy.ts)', () => {
  it('a healthy observation gives eight True conditions and no repair, whatever the budget', () => {
    const c = conditions(healthyObservation());
    assert.deepEqual(c.map((x) => x.type), [...CONDITION_TYPES]);
    assert.ok(c.every((x) => x.status === 'True'), JSON.stringify(c));
    for (const { budget } of BUDGETS) assert.equal(decideHeal(c, budget, SETTINGS, NOW).kind, 'healthy');
  });

  for (const fault of FAULTS) {
    for (const b of BUDGETS) {
      it(`${fault.what} with ${b.what}: ${fault.condition}=False (${fault.reason}) → ${fault.action === 'operator' ? 'the operator' : b.held ?? fault.action}`, () => {
        const c = conditions(fault.change(healthyObservation()));
        const broken = c.find((x) => x.type === fault.condition);
        assert.equal(broken?.status, 'False');
        assert.equal(broken?.reason, fault.reason);
        assert.equal(decideRepair(c).action, fault.action);
        const verdict = decideHeal(c, b.budget, SETTINGS, NOW);
        if (fault.action === 'operator') {
          // Nothing is sent to a host with another key, so no budget can make heal act on it.
          assert.equal(verdict.kind, 'operator');
        } else if (b.held) {
          assert.equal(verdict.kind, 'held');
          assert.equal(verdict.kind === 'held' && verdict.decision, b.held);
          assert.equal(verdict.action, fault.action);
          assert.match(verdict.reason, b.held === 'capped' ? /cap 3/ : /held back until/);
        } else {
          assert.deepEqual({ kind: verdict.kind, action: verdict.action }, { kind: 'repair', action: fault.action });
        }
      });
    }
  }

  it('an unreachable droplet hides what lies behind it (Unknown, not False), so one repair is chosen, in dependency order', () => {
    const o = healthyObservation();
    const c = conditions({ ...o, droplet: { ...o.droplet, status: 'off' }, ssh: { ok: false, error: 'not tried', hostKeyMismatch: false }, docker: { running: null } });
    assert.equal(c.find((x) => x.type === 'SshReachable')?.status, 'Unknown');
    assert.equal(c.find((x) => x.type === 'SupervisorRunning')?.status, 'Unknown');
    assert.equal(decideRepair(c).action, 'power-on');
    const both = conditions({ ...o, docker: { running: false }, disk: { freePercent: 1 } });
    assert.equal(decideRepair(both).action, 'start-docker');
  });

  it('keeps `since` while a status holds and resets it when the status changes', () => {
    const first = conditions(healthyObservation());
    const later = { ...healthyObservation(), at: new Date(NOW + 60_000).toISOString() };
    assert.equal(conditions(later, first)[0]?.since, first[0]?.since);
    const changed = conditions({ ...later, droplet: { ...later.droplet, status: 'off' } }, first);
    assert.equal(changed[0]?.since, later.at);
  });

  it('a started repair counts against the cap; a failed one doubles the backoff up to 16×; success clears it', () => {
    let b = repairStarted(FRESH_BUDGET, NOW);
    assert.deepEqual(b.repairTimes, [NOW]);
    const expected = [30, 60, 120, 240, 480, 480];
    for (const seconds of expected) {
      b = repairEnded(b, 'failed', SETTINGS, NOW);
      assert.equal(b.backoffUntil, NOW + seconds * 1000);
    }
    assert.equal(b.consecutiveFailures, expected.length);
    assert.deepEqual(repairEnded(b, 'repaired', SETTINGS, NOW), { ...b, consecutiveFailures: 0, backoffUntil: null });
    assert.deepEqual(repairEnded(b, 'healthy', SETTINGS, NOW), { ...b, consecutiveFailures: 0, backoffUntil: null });
    // Old repairs fall out of the sliding hour when the next one starts.
    assert.deepEqual(repairStarted({ ...FRESH_BUDGET, repairTimes: [NOW - HOUR - 1, NOW - 10] }, NOW).repairTimes, [NOW - 10, NOW]);
  });
});
