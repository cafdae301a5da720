import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStatus } from '../../src/cli/status';
import { DEFAULT_LIFECYCLE_SETTINGS, type HealEvent, type InstallationStatus, type OperationRecord } from '../../src/shared/lifecycle';

const at = (minute: number) => `2026-08-21T10:${String(minute).padStart(2, '0')}:00.000Z`;

/** What the installation workflow keeps: newest first. */
function operations(count: number): OperationRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = count - i;
    return { id: `op-${n}`, kind: 'heal', outcome: 'succeeded', message: `operation number ${n}`, requestedAt: at(n), startedAt: at(n), finishedAt: at(n) };
  });
}

function status(recent: OperationRecord[], healEvents: HealEvent[]): InstallationStatus {
  return {
    installationId: 'prod',
    desired: null,
    observed: null,
    conditions: [],
    current: null,
    queue: [],
    recent,
    healEvents,
    orphans: [],
    repairs: { lastHour: 0, capPerHour: 6, backoffUntil: null, consecutiveFailures: 0 },
    settings: DEFAULT_LIFECYCLE_SETTINGS,
    runs: 0,
    retiring: false,
  };
}

describe('formatStatus', () => {
  it('lists the five newest operations, newest first', () => {
    const text = formatStatus(status(operations(8), []));
    const shown = [...text.matchAll(/operation number (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(shown, [8, 7, 6, 5, 4]);
  });

  it('lists every operation when there are fewer than five', () => {
    const text = formatStatus(status(operations(3), []));
    const shown = [...text.matchAll(/operation number (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(shown, [3, 2, 1]);
  });

  it('shows the newest heal as the last heal', () => {
    const healEvents: HealEvent[] = [
      { at: at(30), action: 'restart-supervisor', decision: 'repaired', reason: 'the newest one' },
      { at: at(20), action: 'none', decision: 'observed-healthy', reason: 'an older one' },
      { at: at(10), action: 'prune', decision: 'repaired', reason: 'the oldest one' },
    ];
    const text = formatStatus(status(operations(1), healEvents));
    assert.match(text, new RegExp(`^Last heal: repaired \\(restart-supervisor\\) at ${at(30).replace(/\./g, '\\.')}: the newest one$`, 'm'));
    assert.doesNotMatch(text, /older one|oldest one/);
  });
});
