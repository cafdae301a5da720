import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROBE_INSTANCE_NAME } from '../../src/activities/trigger/webapp-client';
import { resourceNames, workflowIds } from '../../src/shared/ids';
import type { InstallationStatus, OperationRecord } from '../../src/shared/lifecycle';
import { deploy, teardown } from '../../src/workflows';
import { upgradeSupervisorSignal } from '../../src/shared/installation-messages';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { causeChain, healNow, installationHandle, status } from '../helpers/lifecycle';
import { waitFor } from '../helpers/wait';

const seconds = (from: string | null, to: string) => (Date.parse(to) - Date.parse(from ?? to)) / 1000;

/**
 * One installation on the real world's durations (docs/sandbox-timings.md): droplets take 30–60 s to be active,
 * cloud-init one to three minutes, pulls up to 90 s. Every activity has to ride that out within its timeouts and
 * heartbeats, as in production. Runs in its own slot of scripts/run-tests.ts (13 minutes per test).
 */
describe('realistic timings: deploy, signalled upgrade and heal, end to end', () => {
  let world: World;
  let worker: RunningWorker;
  const id = 'real';
  const names = resourceNames(id);
  const owned = () => world.sandbox.digitalocean.inspect().droplets.filter((d) => d.tags.includes(names.tag));
  /** The supervisor as the webapp sees it: the newest instance of the installation's group (not the credential probe). */
  const instance = () =>
    world.sandbox.webapp
      .workerInstances()
      .filter((i) => i.group === names.workerGroup && i.name !== PROBE_INSTANCE_NAME && i.workerVersion !== undefined)
      .sort((a, b) => b.connectedAt.getTime() - a.connectedAt.getTime())[0];

  before(async () => {
    world = await startWorld({ sandbox: { timings: 'realistic' } });
    worker = await world.startWorker();
  });

  after(async () => {
    await worker?.stop();
    await world?.close();
  });

  it('deploys, upgrades v4.5.11 → v4.5.12 on a signal (a 90 s pull), heals a killed supervisor, tears down', async (t) => {
    assert.equal(world.sandbox.timings.profile, 'realistic');
    const handle = installationHandle(world, id);

    // Deploy, with the product's own default timeouts (made for these durations).
    const deployStart = Date.now();
    const result = await world.temporal.client.workflow
      .execute(deploy, { taskQueue: world.temporal.taskQueue, workflowId: workflowIds.deploy(id), args: [{ installationId: id }] })
      .catch((err: unknown) => {
        throw new Error(`deploy failed: ${causeChain(err)}`);
      });
    const deploySeconds = (Date.now() - deployStart) / 1000;
    t.diagnostic(`deploy took ${deploySeconds} s`);
    // At least a create (30 s) and cloud-init (60 s) and the pull (20 s) happened one after another.
    assert.ok(deploySeconds >= 110, `a realistic deploy took only ${deploySeconds} s`);
    assert.equal(result.supervisorVersion, 'v4.5.11');
    assert.equal(owned().length, 1);
    assert.equal(owned()[0]?.status, 'active');
    assert.equal(instance()?.workerVersion, '4.5.11');

    await waitFor('the installation to adopt the deploy', async () => ((await status(world, id)).desired ? true : undefined), 60_000, 500);
    // Heal checks are driven by this test, not by the minute schedule.
    await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).pause('the test drives heal');

    // Upgrade on a signal; the one pull it makes takes the longest realistic time.
    world.sandbox.timings.force('imagePull', 90_000, { times: 1 });
    await handle.signal(upgradeSupervisorSignal, { version: 'v4.5.12' });
    const upgraded = await waitFor<OperationRecord>('the upgrade to finish', async () => {
      const last = (await status(world, id)).recent[0];
      if (last?.kind !== 'upgrade') return undefined;
      assert.equal(last.outcome, 'succeeded', last.message);
      return last;
    }, 6 * 60_000, 2_000);
    const upgradeSeconds = seconds(upgraded.startedAt, upgraded.finishedAt);
    t.diagnostic(`upgrade took ${upgradeSeconds} s: ${upgraded.message}`);
    assert.ok(upgradeSeconds >= 90, `the upgrade took ${upgradeSeconds} s, less than its forced 90 s pull`);
    assert.equal(instance()?.workerVersion, '4.5.12');
    assert.equal((await status(world, id)).desired?.supervisorVersion, 'v4.5.12');
    assert.equal(owned().length, 1);

    // Heal: the killed supervisor comes back through Docker's restart policy but needs seconds to connect; a heal
    // check that sees it not connected restarts it. If the check was slower than the reconnect, kill it again.
    const dropletId = owned()[0]?.id ?? 0;
    let healed: InstallationStatus | undefined;
    for (let round = 1; round <= 3 && !healed; round++) {
      world.sandbox.droplets.faults.killSupervisor(dropletId);
      const events = await healNow(world, id, 5 * 60_000);
      const s = await status(world, id);
      t.diagnostic(`heal ${round}: ${JSON.stringify(s.healEvents[0])}`);
      assert.notEqual(s.healEvents[0]?.decision, 'repair-failed', JSON.stringify(events));
      if (s.healEvents[0]?.decision === 'repaired') healed = s;
    }
    assert.ok(healed, 'no heal check saw the killed supervisor');
    assert.equal(healed.healEvents[0]?.action, 'restart-supervisor');
    assert.equal(healed.recent[0]?.kind, 'heal');
    assert.equal(healed.recent[0]?.outcome, 'succeeded');
    assert.ok(healed.conditions.every((c) => c.status === 'True'), JSON.stringify(healed.conditions));
    assert.equal(instance()?.workerVersion, '4.5.12');

    // Teardown leaves nothing of the installation.
    const removed = await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.teardown(id),
      args: [{ installationId: id }],
    });
    assert.equal(removed.dropletsDeleted, 1);
    await waitFor('the droplet to be gone', () => (owned().length === 0 ? true : undefined), 60_000, 500);
  });
});
