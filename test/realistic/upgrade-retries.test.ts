import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { upgradeSupervisorSignal } from '../../src/shared/installation-messages';
import type { OperationRecord } from '../../src/shared/lifecycle';
import { cliWorkerEnv, startWorld, type RunningWorker, type World } from '../helpers/installation';
import { deployAndAdopt, installationHandle, waitForStatus } from '../helpers/lifecycle';
import { spawnCli, type Spawned } from '../helpers/processes';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const FROM = 'v4.5.11';
const TO = 'v4.5.12';

/**
 * How often the installation scheduled an activity, and the attempt each one finished on (a history keeps only the
 * last attempt's start event, with its attempt number).
 */
async function activityRuns(handle: WorkflowHandle, type: string): Promise<{ scheduled: number; attempts: number[] }> {
  const history = await handle.fetchHistory();
  const scheduledIds = new Set<string>();
  const attempts: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === type) scheduledIds.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduledIds.has(String(started.scheduledEventId))) attempts.push(started.attempt ?? 1);
  }
  return { scheduled: scheduledIds.size, attempts };
}

/**
 * Upgrades at real-world pull times, and the retries that real clouds cause: a 90 s pull, an SSH connection lost in
 * the middle, and a worker killed after the agent recreated the container. Each must end with one supervisor
 * container on the new tag and the operation recorded truthfully as "upgraded", with its figures.
 */
describe('upgrade retries adopt the agent run they started, never a second one', () => {
  let world: World;
  let dir: string;
  let env: Record<string, string>;
  const processes: Spawned[] = [];
  let worker: RunningWorker | undefined;

  before(async () => {
    world = await startWorld({ codecKey: TEST_CODEC_KEY });
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-upgrade-retries-'));
    env = await cliWorkerEnv(world, TEST_CODEC_KEY, dir);
  });

  after(async () => {
    await worker?.stop();
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const dropletOf = (installationId: string) => {
    const d = world.sandbox.digitalocean.inspect().droplets.find((x) => x.tags.includes(`trigger-ops-${installationId}`));
    assert.ok(d, `a droplet for ${installationId}`);
    return d;
  };
  const supervisors = (installationId: string) => world.sandbox.droplets.inspect(dropletOf(installationId).id).containers.filter((c) => /supervisor/.test(c.name));
  const upgradeRecord = async (installationId: string, timeoutMs: number): Promise<OperationRecord> => {
    const s = await waitForStatus(world, installationId, 'the upgrade to be recorded', (st) => st.recent[0]?.kind === 'upgrade' && !st.current, timeoutMs);
    const r = s.recent[0];
    assert.ok(r);
    return r;
  };
  const assertUpgraded = (installationId: string, r: OperationRecord) => {
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.match(r.message, new RegExp(`^upgraded ${FROM} → ${TO}`));
    assert.equal(typeof r.details?.['downtimeSeconds'], 'number', JSON.stringify(r.details));
    assert.equal(typeof r.details?.['notConnectedSeconds'], 'number', JSON.stringify(r.details));
    const running = supervisors(installationId);
    assert.equal(running.length, 1, JSON.stringify(running));
    assert.match(running[0]?.image ?? '', new RegExp(`:${TO}$`));
    assert.equal(running[0]?.state, 'running');
  };

  it('a 90 s image pull: one attempt, recorded "upgraded" with its downtime', async () => {
    worker = await world.startWorker();
    const id = 'pull90';
    await deployAndAdopt(world, id);
    world.sandbox.timings.force('imagePull', 90_000, { times: 1 });
    const started = Date.now();
    await installationHandle(world, id).signal(upgradeSupervisorSignal, { version: TO });
    const r = await upgradeRecord(id, 240_000);
    assert.ok(Date.now() - started >= 90_000, 'the pull really took 90 s');
    assertUpgraded(id, r);
    // The first wave's heartbeat timeouts made three attempts run three overlapping agent upgrades.
    assert.deepEqual(await activityRuns(installationHandle(world, id), 'upgradeSupervisorOnDroplet'), { scheduled: 1, attempts: [1] });
    await worker.stop();
    worker = undefined;
  });

  it('the SSH connection drops in the middle of the pull: the retry adopts the run, one container on the new tag', async () => {
    worker = await world.startWorker();
    const id = 'sshdrop';
    await deployAndAdopt(world, id);
    world.sandbox.timings.force('imagePull', 15_000, { times: 1 });
    await installationHandle(world, id).signal(upgradeSupervisorSignal, { version: TO });
    const root = world.sandbox.droplets.rootOf(dropletOf(id).id);
    const ops = join(root, 'opt', 'trigger-ops', 'ops');
    await waitFor('the agent to run the upgrade', () => (existsSync(ops) && readdirSync(ops).some((f) => f.endsWith('.pid')) ? true : undefined), 60_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const dropped = world.sandbox.droplets.faults.dropConnections(dropletOf(id).id);
    assert.ok(dropped > 0, 'an SSH connection was open and was dropped');
    const r = await upgradeRecord(id, 120_000);
    assertUpgraded(id, r);
    const runs = await activityRuns(installationHandle(world, id), 'upgradeSupervisorOnDroplet');
    assert.equal(runs.scheduled, 1);
    assert.ok(Math.max(...runs.attempts) >= 2, `the activity was retried: attempts ${runs.attempts.join(', ')}`);
    await worker.stop();
    worker = undefined;
  });

  it('the worker is killed after the agent recreated the container: the retry still records "upgraded" with its figures', async () => {
    const first = spawnCli(['worker'], env);
    processes.push(first);
    await waitFor('the worker to poll', () => (/worker polling/.test(first.output()) ? true : undefined), 60_000, 100);
    const id = 'killed';
    await deployAndAdopt(world, id);
    // A slow connect keeps the step in its health gate after the container runs the new tag: the kill lands there.
    const slowConnect = world.sandbox.timings.force('supervisorConnect', 8_000);
    await installationHandle(world, id).signal(upgradeSupervisorSignal, { version: TO });
    await waitFor('the new container to run', () => (supervisors(id).some((c) => c.state === 'running' && c.image.endsWith(`:${TO}`)) ? true : undefined), 120_000, 20);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    slowConnect();
    const second = spawnCli(['worker'], env);
    processes.push(second);
    const r = await upgradeRecord(id, 180_000);
    assertUpgraded(id, r);
    const runs = await activityRuns(installationHandle(world, id), 'upgradeSupervisorOnDroplet');
    assert.ok(Math.max(...runs.attempts) >= 2, `the activity was retried after the kill: attempts ${runs.attempts.join(', ')}`);
  });
});
