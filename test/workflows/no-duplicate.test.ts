/**
 * No duplicate, ever: a droplet create that DigitalOcean carries out after the client gave up (and that its lists show
 * only later) ends with one droplet; heal records and then removes what carries the installation's tag or name but is
 * not desired, while the desired droplet keeps serving; teardown, and the rollback of a failed first deploy, leave
 * no installation tag behind.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DROPLET_LIST_LAG } from '../../sandbox/digitalocean';
import { createDigitalOceanApi, type DigitalOceanApi } from '../../src/activities/digitalocean';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import { DEFAULT_IMAGE, DEFAULT_REGION, DEFAULT_SIZE } from '../../src/shared/deploy';
import { MANAGED_TAG, resourceNames, workflowIds } from '../../src/shared/ids';
import { deploy, teardown } from '../../src/workflows';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { causeChain, deployAndAdopt, healNow, status } from '../helpers/lifecycle';

const FAST = { healthTimeoutSeconds: 20, bootTimeoutSeconds: 30 };
const PLACEMENT = { region: DEFAULT_REGION, size: DEFAULT_SIZE, image: DEFAULT_IMAGE };

describe('no duplicate, ever', () => {
  let world: World;
  let worker: RunningWorker;
  let api: DigitalOceanApi;

  const inspect = () => world.sandbox.digitalocean.inspect();
  const named = (name: string) => inspect().droplets.filter((d) => d.name === name);
  const runDeploy = (installationId: string) =>
    world.temporal.client.workflow.execute(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.deploy(installationId),
      args: [{ installationId, options: FAST }],
    });

  before(async () => {
    // A settle window well past the injected hang and list lag below, and short enough for a test.
    world = await startWorld({ env: { TRIGGER_OPS_CREATE_SETTLE_SECONDS: '30' } });
    worker = await world.startWorker();
    api = createDigitalOceanApi({ token: world.sandbox.digitalocean.token, apiUrl: world.sandbox.digitalocean.url, ca: world.sandbox.digitalocean.ca });
  });
  after(async () => {
    await worker?.stop();
    await world?.close();
  });

  it('a create carried out after the client gave up, and listed only later, ends with one droplet and a deploy that succeeds', async () => {
    const { faults } = world.sandbox.digitalocean;
    // Held past the client's 15 s timeout, then carried out; and out of every list for 4 s after that.
    faults.failNext('droplets_create', 1, { hangMs: 17_000 });
    faults.failNext(DROPLET_LIST_LAG, 1, { latencyMs: 4_000 });
    const result = await runDeploy('amb').catch((err: unknown) => assert.fail(`deploy failed: ${causeChain(err)}`));
    await sleep(1_000);
    const droplets = named(resourceNames('amb').droplet(1));
    assert.deepEqual(droplets.map((d) => d.id), [result.droplet.id], 'exactly one tops-amb-g1, the one the deploy reports');
    assert.equal(inspect().callsByOperation['droplets_create'], 1, 'the retry adopted the late droplet instead of creating again');
    assert.equal(droplets[0]?.status, 'active');
  });

  it('a failed first deploy rolls back its tag too', async () => {
    world.sandbox.digitalocean.faults.failNext('droplets_create', 1, { status: 422, message: 'Region is unavailable' });
    await assert.rejects(runDeploy('rb'), (err: unknown) => /deploy failed at step "droplet".*Everything it created was removed/.test(causeChain(err)));
    assert.ok(!inspect().tags.includes(resourceNames('rb').tag), `tags left: ${inspect().tags.join(', ')}`);
    assert.ok(inspect().tags.includes(MANAGED_TAG), 'the tag every installation shares stays');
  });

  it('heal records strays with the installation tag or name, removes them after the grace period, and keeps the desired droplet serving', async () => {
    const id = 'sw';
    const names = resourceNames(id);
    await deployAndAdopt(world, id, { orphanGraceSeconds: 3 });
    const desired = (await status(world, id)).desired;
    assert.ok(desired);
    // What a failed undo or a person might leave: another generation, a second firewall, a stale key; and a droplet
    // that only carries the tag under a name trigger-ops never gives.
    const stray = (await api.createDroplet({ name: names.droplet(7), ...PLACEMENT, tags: [MANAGED_TAG, names.tag] })).droplet;
    const handMade = (await api.createDroplet({ name: 'hand-made', ...PLACEMENT, tags: [names.tag] })).droplet;
    const firewall = await api.createFirewall({ name: names.firewall, inboundRules: [{ protocol: 'tcp', ports: '22', addresses: ['0.0.0.0/0'] }], outboundRules: [] });
    const key = await api.createSshKey({ name: names.sshKey, publicKey: generateEd25519KeyPair('stale').publicKey });

    // The first heal check only starts the sweep's clock; the next one, a grace period later, sweeps.
    await healNow(world, id);
    assert.deepEqual((await status(world, id)).orphans, []);
    await sleep(3_200);
    await healNow(world, id);
    const seen = await status(world, id);
    const recorded = seen.orphans.map((o) => `${o.kind} ${o.id} ${o.removable ? 'removable' : 'kept'}`).sort();
    assert.deepEqual(
      recorded,
      [`droplet ${handMade.id} kept`, `droplet ${stray.id} removable`, `firewall ${firewall.id} removable`, `sshKey ${key.id} removable`].sort(),
    );
    assert.equal(seen.healEvents.filter((e) => e.decision === 'orphan-found').length, 4);
    assert.equal(named(names.droplet(7)).length, 1, 'nothing is removed before the grace period');

    await sleep(3_500);
    await healNow(world, id);
    const swept = await status(world, id);
    const removed = swept.healEvents.filter((e) => e.decision === 'orphan-removed').map((e) => e.reason);
    assert.equal(removed.length, 3, removed.join('\n'));
    assert.deepEqual(swept.orphans.map((o) => o.id), [String(handMade.id)], 'only the tag-only droplet is still recorded');
    const left = inspect();
    assert.ok(!left.droplets.some((d) => d.id === stray.id), 'the stray droplet is gone');
    assert.ok(left.droplets.some((d) => d.id === handMade.id), 'a droplet that is not trigger-ops\'s is never removed');
    assert.deepEqual(left.firewalls.filter((f) => f['name'] === names.firewall).length, 1);
    assert.ok(!left.sshKeys.some((k) => k.id === key.id));
    assert.ok(left.sshKeys.some((k) => k.id === desired.sshKeyId), "the controller's key stays");
    assert.equal(swept.desired?.droplet.id, desired.droplet.id);
    const supervisor = world.sandbox.droplets.inspect(desired.droplet.id).containers.find((c) => c.name.includes('supervisor'));
    assert.equal(supervisor?.state, 'running', 'the desired droplet keeps serving');
    assert.equal(swept.recent.find((r) => r.kind === 'heal')?.outcome, 'succeeded');
  });

  it('teardown deletes the installation tag last and leaves a droplet it does not own (now untagged)', async () => {
    const id = 'sw';
    const result = await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.teardown(id),
      args: [{ installationId: id }],
    });
    assert.equal(result.dropletsDeleted, 1);
    assert.equal(result.tagDeleted, true);
    assert.match(result.dropletsKept.join(), /"hand-made"/);
    const left = inspect();
    assert.ok(!left.tags.includes(resourceNames(id).tag));
    assert.deepEqual(left.droplets.filter((d) => d.name.startsWith('tops-sw-')), []);
    assert.deepEqual(left.droplets.find((d) => d.name === 'hand-made')?.tags, []);
  });
});
