import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deploy, deployProgressQuery } from '../../src/workflows';
import { statusQuery, upgradeSupervisorUpdate } from '../../src/shared/installation-messages';
import { cliWorkerEnv, startWorld, type World } from '../helpers/installation';
import { spawnCli, type Spawned } from '../helpers/processes';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/**
 * The worker is a real `trigger-ops worker` process, killed with SIGKILL in the middle of a deploy and started
 * again: the deploy must finish with exactly one droplet, one firewall and one key.
 */
describe('deploy survives a worker killed with SIGKILL', () => {
  let world: World;
  let dir: string;
  let env: Record<string, string>;
  const workers: Spawned[] = [];

  before(async () => {
    world = await startWorld({ codecKey: TEST_CODEC_KEY });
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-crash-'));
    env = await cliWorkerEnv(world, TEST_CODEC_KEY, dir);
  });

  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startWorkerProcess(): Promise<Spawned> {
    const worker = spawnCli(['worker'], env);
    workers.push(worker);
    await waitFor('the worker to poll', () => (/worker polling/.test(worker.output()) ? true : undefined), 60_000, 100);
    return worker;
  }

  for (const killAt of ['droplet', 'cloud-init', 'health-gate'] as const) {
    it(`killed during "${killAt}": exactly one droplet after restart`, async () => {
      const installationId = `crash-${killAt}`;
      // Slow boots and health give the kill a wide window inside the step.
      world.sandbox.droplets.faults.delayBoot(killAt === 'droplet' ? 3000 : 0);
      if (killAt === 'health-gate') world.sandbox.webapp.faults.failNext('connect', 3, { status: 503 });
      const first = await startWorkerProcess();
      const handle = await world.temporal.client.workflow.start(deploy, {
        taskQueue: world.temporal.taskQueue,
        workflowId: `deploy:${installationId}`,
        args: [{ installationId, options: { healthTimeoutSeconds: 60, bootTimeoutSeconds: 60 } }],
      });
      await waitFor(`step ${killAt}`, async () => ((await handle.query(deployProgressQuery)).step === killAt ? true : undefined), 60_000, 20);
      first.child.kill('SIGKILL');
      assert.equal(await first.exited, 'SIGKILL');
      world.sandbox.droplets.faults.delayBoot(0);

      await startWorkerProcess();
      const result = await handle.result();
      const tag = `trigger-ops-${installationId}`;
      const state = world.sandbox.digitalocean.inspect();
      assert.equal(state.droplets.filter((d) => d.tags.includes(tag)).length, 1);
      assert.equal(state.firewalls.filter((f) => f.name === `tops-${installationId}-fw`).length, 1);
      assert.equal(state.sshKeys.filter((k) => k.name === `tops-${installationId}-controller`).length, 1);
      assert.ok(world.sandbox.webapp.workerInstances().some((i) => i.name === `tops-${installationId}-g1` && i.workerVersion === '4.5.11'));
      assert.equal(result.droplet.name, `tops-${installationId}-g1`);
    });
  }

  it('an upgrade whose worker is killed mid-way finishes after restart, on the same droplet', async () => {
    const installation = world.temporal.client.workflow.getHandle('installation:crash-droplet');
    const before = world.sandbox.digitalocean.inspect().droplets.filter((d) => d.tags.includes('trigger-ops-crash-droplet'));
    // Slow reconnects keep the upgrade inside its health gate long enough to kill the worker there.
    world.sandbox.webapp.faults.failNext('connect', 2, { status: 503 });
    const upgrading = installation.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] });
    await waitFor('the upgrade to run', async () => ((await installation.query(statusQuery)).current?.kind === 'upgrade' ? true : undefined), 60_000, 20);
    const running = workers.at(-1)!;
    running.child.kill('SIGKILL');
    assert.equal(await running.exited, 'SIGKILL');
    await startWorkerProcess();
    const result = await upgrading;
    assert.equal(result.outcome, 'upgraded', result.message);
    const after = world.sandbox.digitalocean.inspect().droplets.filter((d) => d.tags.includes('trigger-ops-crash-droplet'));
    assert.deepEqual(after.map((d) => d.id), before.map((d) => d.id));
    await waitFor('the webapp to see v4.5.12', () =>
      world.sandbox.webapp.workerInstances().find((i) => i.name === 'tops-crash-droplet-g1' && i.workerVersion === '4.5.12'),
    );
  });
});
