import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DROPLET_BOOT } from '../../sandbox/digitalocean';
import { resourceNames, workflowIds } from '../../src/shared/ids';
import { migrateUpdate } from '../../src/shared/installation-messages';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { deployAndAdopt, installationHandle, status } from '../helpers/lifecycle';

describe('migrate (blue-green) through the installation workflow', () => {
  let world: World;
  let worker: RunningWorker;
  const id = 'mg';

  /** Droplets of the installation, and how many of them run a supervisor connected to the platform. */
  const serving = () => {
    const droplets = world.sandbox.digitalocean.inspect().droplets.filter((d) => d.tags.includes(resourceNames(id).tag));
    const running = droplets.filter((d) => {
      try {
        return world.sandbox.droplets.inspect(d.id).containers.some((c) => c.name.includes('supervisor') && c.state === 'running');
      } catch {
        return false;
      }
    });
    return { droplets: droplets.length, serving: running.length, names: droplets.map((d) => d.name) };
  };

  before(async () => {
    world = await startWorld({ codecKey: TEST_CODEC_KEY });
    worker = await world.startWorker();
    await deployAndAdopt(world, id, { bootTimeoutSeconds: 10, healthTimeoutSeconds: 5 });
  });

  after(async () => {
    await worker.stop();
    await world.close();
  });

  it('moves to a new size on generation 2, then deletes the old droplet', async () => {
    const r = await installationHandle(world, id).executeUpdate(migrateUpdate, { args: [{ size: 's-4vcpu-8gb' }] });
    assert.equal(r.outcome, 'migrated', r.message);
    assert.equal(r.to?.name, resourceNames(id).droplet(2));
    assert.deepEqual(serving(), { droplets: 1, serving: 1, names: [resourceNames(id).droplet(2)] });
    const reported = world.sandbox.webapp.workerInstances().map((i) => i.name);
    assert.ok(
      reported.includes(resourceNames(id).droplet(1)) && reported.includes(resourceNames(id).droplet(2)),
      `each droplet reported under its own name: ${reported.join(', ')}`,
    );
    const s = await status(world, id);
    assert.equal(s.desired?.size, 's-4vcpu-8gb');
    assert.equal(s.desired?.generation, 2);
    await recordHistory(world, workflowIds.migrate(id), 'migrate.json');
  });

  const failures: Array<[string, () => void, RegExp]> = [
    ['create', () => world.sandbox.digitalocean.faults.failNext('droplets_create', 1, { status: 422, message: 'region is full' }), /"create-droplet".*region is full/],
    ['boot', () => world.sandbox.digitalocean.faults.failNext(DROPLET_BOOT, 1, { status: 500 }), /"create-droplet".*still "new"/],
    ['bootstrap', () => world.sandbox.droplets.faults.failCloudInit(), /bootstrap/],
    ['health gate', () => world.sandbox.webapp.faults.failNext('connect', 10_000, { status: 503 }), /health-gate/],
  ];
  for (const [step, inject, where] of failures) {
    it(`a failure at ${step} removes the new droplet and leaves the old one serving`, async () => {
      const before = serving();
      inject();
      const r = await installationHandle(world, id).executeUpdate(migrateUpdate, { args: [{ region: 'sfo3' }] });
      world.sandbox.webapp.faults.clear();
      world.sandbox.digitalocean.faults.clear();
      assert.equal(r.outcome, 'failed');
      assert.match(r.message, where);
      assert.deepEqual(serving(), before);
      assert.equal((await status(world, id)).desired?.region, 'nyc3');
    });
  }
});

/** RECORD_HISTORIES=1: keeps this run's history for test/replay (codec key TEST_CODEC_KEY). */
async function recordHistory(world: World, workflowId: string, file: string): Promise<void> {
  if (!process.env['RECORD_HISTORIES']) return;
  const history = await world.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(join(__dirname, '..', 'replay', 'histories', file), historyToJSON(history));
}
