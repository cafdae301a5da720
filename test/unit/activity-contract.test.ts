import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, mergeActivities } from '../../src/activities';
import {
  activityOptions,
  BOUNDS,
  CONTRACT,
  contractViolations,
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_TIMEOUT_MS,
  RETRY,
  type Timing,
} from '../../src/shared/activity-contract';
import { withHeartbeats } from '../../src/activities/heartbeat';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { loadConfig } from '../../src/config';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/shared/errors';
import { activityDepsFromConfig } from '../../src/worker';

const dataDir = mkdtempSync(join(tmpdir(), 'trigger-ops-contract-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function registeredActivityNames(): string[] {
  const codec = new EncryptionCodec(Buffer.alloc(32, 7));
  return Object.keys(createActivities(activityDepsFromConfig(loadConfig({ TRIGGER_OPS_DATA_DIR: dataDir }), codec)));
}

const contract = CONTRACT as unknown as Record<string, Timing<never>>;

describe('the timing contract (src/shared/activity-contract.ts)', () => {
  it('has exactly one entry per registered activity, and every rule holds for every entry', () => {
    const names = registeredActivityNames();
    assert.deepEqual(Object.keys(CONTRACT).sort(), [...names].sort());
    assert.deepEqual(contractViolations(contract, names), []);
  });

  it('catches deliberately wrong entries', () => {
    const names = registeredActivityNames();
    const broken = {
      ...contract,
      // The first wave's bug: one 60 s SSH call under a 45 s start-to-close.
      waitForCloudInit: { ...contract['waitForCloudInit'], startToCloseMs: () => 45_000 },
      // A ten-minute step that never heartbeats: a dead worker is noticed only after ten minutes.
      pruneDocker: { ...contract['pruneDocker'], heartbeat: false, startToCloseMs: () => 600_000 },
      // A non-idempotent change that is retried.
      ensureDroplet: { ...contract['ensureDroplet'], idempotent: false },
      // An input-dependent bound above its declared maximum.
      waitForDropletActive: { ...contract['waitForDropletActive'], startToCloseMs: () => 5 * 3_600_000 },
    } as Record<string, Timing<never>>;
    delete broken['deleteFirewall'];
    const problems = contractViolations(broken, [...names, 'brandNewActivity']);
    const about = (name: string) => problems.filter((p) => p.startsWith(`${name}:`));
    assert.match(about('waitForCloudInit').join('\n'), /add up to \d+ ms, not less than its start-to-close 45000 ms/);
    assert.match(about('pruneDocker').join('\n'), /without heartbeating/);
    assert.match(about('ensureDroplet').join('\n'), /not idempotent, and is retried/);
    assert.match(about('waitForDropletActive').join('\n'), /exceeds its declared maximum/);
    assert.match(about('deleteFirewall').join('\n'), /no timing entry/);
    assert.match(about('brandNewActivity').join('\n'), /no timing entry/);
  });

  it('turns an entry into the options a workflow schedules with, input-dependent where a caller picks a timeout', () => {
    const boot = activityOptions('waitForCloudInit', { installationId: 'a', ipv4: '127.0.0.2', timeoutSeconds: 600 });
    assert.equal(boot.startToCloseTimeout, 600_000 + 120_000);
    assert.equal(boot.heartbeatTimeout, HEARTBEAT_TIMEOUT_MS);
    assert.deepEqual(boot.retry, RETRY.wait);
    const longer = activityOptions('waitForCloudInit', { installationId: 'a', ipv4: '127.0.0.2', timeoutSeconds: 1200 });
    assert.equal(longer.startToCloseTimeout, 1_200_000 + 120_000);
    const apply = activityOptions('applySupervisorConfig', {
      installationId: 'a',
      ipv4: '127.0.0.2',
      projectId: 'p',
      environmentId: 'e',
      webappServiceId: 's',
      supervisorVersion: 'v4.5.12',
      apiUrl: 'https://x',
    } as never);
    // The agent's apply pulls the image: its bound is far above the first wave's 45 s.
    assert.ok((apply.startToCloseTimeout as number) > BOUNDS.agentApplyMs);
    assert.equal(apply.heartbeatTimeout, HEARTBEAT_TIMEOUT_MS);
    const read = activityOptions('validateDropletPlacement', { region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04' });
    // Even a quick read: a dead worker's attempt is retried after the heartbeat timeout, not its start-to-close.
    assert.equal(read.heartbeatTimeout, HEARTBEAT_TIMEOUT_MS);
    for (const [name, timing] of Object.entries(CONTRACT)) assert.ok(timing.heartbeat, `${name} heartbeats`);
    assert.deepEqual(read.retry?.nonRetryableErrorTypes, [...NON_RETRYABLE_ERROR_TYPES]);
    assert.equal(activityOptions('restartSupervisor', { installationId: 'a', ipv4: 'b' }, 'bestEffort').retry?.maximumAttempts, 2);
  });

  it('activities take their inner waits and client timeouts from the contract, not from literals', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
    const root = join(__dirname, '..', '..', 'src', 'activities');
    const offenders = files(root)
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${f.slice(root.length + 1)}:${i + 1}`, line }))
          .filter(({ line }) => /\b\d+_000\b|timeoutMs: \d|Ms: \d{4,}/.test(line)),
      );
    assert.deepEqual(offenders, []);
  });

  it('a wrapped activity heartbeats at least every heartbeatTimeout/3 while it is blocked in one long call', async () => {
    // A step that reports once and then blocks in one call (an SSH command, an update) for 2.5 heartbeat periods.
    const blockedMs = HEARTBEAT_EVERY_MS * 2.5;
    const { waitForCloudInit } = withHeartbeats({
      waitForCloudInit: async () => {
        await new Promise((resolve) => setTimeout(resolve, blockedMs));
        return { cloudInit: 'done' as const };
      },
    });
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(Date.now()));
    const started = Date.now();
    await env.run(waitForCloudInit);
    const gaps = [started, ...beats].map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] ?? t))).slice(1);
    assert.ok(beats.length >= 2, `heartbeats: ${beats.length}`);
    for (const gap of gaps) assert.ok(gap <= HEARTBEAT_TIMEOUT_MS / 3 + 250, `a gap of ${gap} ms between heartbeats`);
  });

  it('a name defined by two factories is refused at start-up', () => {
    assert.throws(
      () => mergeActivities({ deleteDropletByName: async () => 1 }, { deleteDropletByName: async () => 2 }),
      /activity "deleteDropletByName" is defined by two factories/,
    );
  });
});
