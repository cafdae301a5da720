import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { workflowIds } from '../../src/shared/ids';
import { migrateUpdate, statusQuery, upgradeSupervisorUpdate } from '../../src/shared/installation-messages';
import { deploy, deployProgressQuery, teardown } from '../../src/workflows';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { causeChain, deployAndAdopt, installationHandle, waitForStatus } from '../helpers/lifecycle';
import { waitFor } from '../helpers/wait';

const FAST = { healthTimeoutSeconds: 20, bootTimeoutSeconds: 30 };

function owned(world: World, installationId: string) {
  const state = world.sandbox.digitalocean.inspect();
  return {
    droplets: state.droplets.filter((d) => d.tags.includes(`trigger-ops-${installationId}`)).length,
    firewalls: state.firewalls.filter((f) => f.name === `tops-${installationId}-fw`).length,
    keys: state.sshKeys.filter((k) => k.name === `tops-${installationId}-controller`).length,
  };
}
const dropletsCreated = (world: World) => world.sandbox.digitalocean.inspect().callsByOperation['droplets_create'] ?? 0;

/** What an answer or a failure says, in one string. */
async function said(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    (answer) => JSON.stringify(answer),
    (err: unknown) => `failed: ${causeChain(err)}`,
  );
}

/**
 * A teardown is the installation's last operation: what is queued behind it is cancelled ("superseded by
 * teardown") and what arrives while it runs is refused, so "Torn down" is never followed by a new droplet. A deploy
 * asked for after the teardown finished is a fresh installation.
 */
describe('teardown supersedes every request queued behind it', () => {
  let world: World;
  let worker: RunningWorker;

  before(async () => {
    world = await startWorld();
    worker = await world.startWorker();
  });
  after(async () => {
    await worker.stop();
    await world.close();
  });

  const startTeardown = (installationId: string) =>
    world.temporal.client.workflow.start(teardown, { taskQueue: world.temporal.taskQueue, workflowId: workflowIds.teardown(installationId), args: [{ installationId }] });
  const startDeploy = (installationId: string, workflowId = workflowIds.deploy(installationId)) =>
    world.temporal.client.workflow.start(deploy, { taskQueue: world.temporal.taskQueue, workflowId, args: [{ installationId, options: FAST }] });

  it('teardown, upgrade, migrate and a raw deploy in the same second: torn down, the others superseded, nothing left', async () => {
    const id = 'race';
    await deployAndAdopt(world, id);
    const handle = installationHandle(world, id);
    // The upgrade runs first and is slowed in its health gate: everything else arrives while it runs.
    world.sandbox.webapp.faults.failNext('connect', 2, { status: 503 });
    const upgrading = said(handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] }));
    await waitForStatus(world, id, 'the upgrade to run', (s) => s.current?.kind === 'upgrade');
    const created = dropletsCreated(world);
    const raceAt = new Date().toISOString();

    const migrating = said(handle.executeUpdate(migrateUpdate, { args: [{ size: 's-4vcpu-8gb' }] }));
    const deploying = said((await startDeploy(id)).result());
    const tearing = await startTeardown(id);

    const torn = await tearing.result();
    assert.equal(torn.dropletsDeleted, 1);
    assert.match(await upgrading, /"outcome":"upgraded"/);
    assert.match(await migrating, /superseded by teardown/);
    assert.match(await deploying, /^failed: .*superseded by teardown/);
    assert.deepEqual(owned(world, id), { droplets: 0, firewalls: 0, keys: 0 });
    assert.equal(dropletsCreated(world), created, 'no droplet was created after the teardown was asked for');
    await assert.rejects(world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).describe(), ScheduleNotFoundError);
    // What was queued is recorded with its reason; a request that came once the teardown had begun was refused.
    const s = await handle.query(statusQuery);
    const superseded = s.recent.filter((r) => (r.kind === 'migrate' || r.kind === 'deploy') && r.requestedAt >= raceAt);
    for (const r of superseded) assert.deepEqual([r.outcome, r.message], ['cancelled', 'superseded by teardown'], JSON.stringify(r));
    assert.equal((await handle.describe()).status.name, 'COMPLETED');

    // Asked for after the teardown finished: a fresh installation.
    const again = await (await startDeploy(id)).result();
    assert.equal(again.droplet.name, `tops-${id}-g1`);
    assert.deepEqual(owned(world, id), { droplets: 1, firewalls: 1, keys: 1 });
    await (await startTeardown(id)).result();
    assert.deepEqual(owned(world, id), { droplets: 0, firewalls: 0, keys: 0 });
  });

  it('a first deploy running when the teardown starts finishes first; one started during the teardown creates nothing', async () => {
    const id = 'late';
    world.sandbox.droplets.faults.delayBoot(2000);
    const first = await startDeploy(id);
    await waitFor('the deploy to reach its droplet', async () => ((await first.query(deployProgressQuery)).step === 'droplet' ? true : undefined), 60_000, 20);
    world.sandbox.droplets.faults.delayBoot(0);
    const tearing = await startTeardown(id);
    await waitForStatus(world, id, 'the installation to retire', (s) => s.retiring);
    const created = dropletsCreated(world);
    const second = await said((await startDeploy(id, `${workflowIds.deploy(id)}-during-teardown`)).result());
    assert.match(second, /^failed: .*superseded by teardown/);

    await tearing.result();
    const firstResult = await first.result().catch((err: unknown) => (err instanceof WorkflowFailedError ? err : Promise.reject(err)));
    assert.ok(!(firstResult instanceof WorkflowFailedError), `the first deploy finished before the teardown: ${causeChain(firstResult)}`);
    assert.equal(dropletsCreated(world), created, 'the deploy started during the teardown created no droplet');
    assert.deepEqual(owned(world, id), { droplets: 0, firewalls: 0, keys: 0 });
    await assert.rejects(world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).describe(), ScheduleNotFoundError);
    assert.equal((await installationHandle(world, id).describe()).status.name, 'COMPLETED');
  });
});
