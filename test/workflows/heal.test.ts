import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDigitalOceanApi } from '../../src/activities/digitalocean/client';
import { createRailwayApiFromConfig } from '../../src/activities/railway';
import { resourceNames, workflowIds } from '../../src/shared/ids';
import type { HealEvent, InstallationStatus } from '../../src/shared/lifecycle';
import { configureUpdate } from '../../src/shared/installation-messages';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { deployAndAdopt, healNow, installationHandle, status, waitForStatus } from '../helpers/lifecycle';
import { waitFor } from '../helpers/wait';

describe('heal: observe, pick the smallest repair, perform it through the installation workflow', () => {
  let world: World;
  let worker: RunningWorker;
  const id = 'hl';

  const dropletId = async () => (await status(world, id)).desired?.droplet.id ?? 0;
  const allTrue = (s: InstallationStatus) => s.conditions.length > 0 && s.conditions.every((c) => c.status === 'True');
  /** Heals until the installation is healthy again; returns the decisions taken on the way. */
  const healUntilHealthy = async (max = 3): Promise<HealEvent[]> => {
    const seen: HealEvent[] = [];
    for (let i = 0; i < max; i++) {
      const before = (await status(world, id)).healEvents.length;
      await healNow(world, id, 60_000);
      const s = await status(world, id);
      seen.push(...s.healEvents.slice(0, s.healEvents.length - before).reverse());
      if (allTrue(s) && s.healEvents[0]?.decision !== 'repair-failed') return seen;
    }
    throw new Error(`not healthy after ${max} heals: ${JSON.stringify(seen)} ${JSON.stringify((await status(world, id)).conditions)}`);
  };

  before(async () => {
    world = await startWorld({ codecKey: TEST_CODEC_KEY });
    worker = await world.startWorker();
    await deployAndAdopt(world, id);
  });

  after(async () => {
    await worker.stop();
    await world.close();
  });

  it('only observes when all is healthy', async () => {
    const events = await healUntilHealthy(1);
    assert.deepEqual(events.map((e) => e.decision), ['observed-healthy']);
  });

  it('a killed supervisor is running and connected again', async () => {
    world.sandbox.droplets.faults.killSupervisor(await dropletId());
    const events = await healUntilHealthy();
    assert.ok(events.every((e) => ['observed-healthy', 'repaired'].includes(e.decision)), JSON.stringify(events));
    const dropletName = (await status(world, id)).desired?.droplet.name;
    assert.ok(world.sandbox.webapp.workerInstances().some((i) => i.name === dropletName), 'the supervisor reports under its droplet\'s name');
  });

  it('a stopped Docker daemon is started again', async () => {
    await world.sandbox.droplets.faults.stopDocker(await dropletId());
    const events = await healUntilHealthy();
    assert.equal(events[0]?.action, 'start-docker', JSON.stringify(events));
    assert.equal(events[0]?.decision, 'repaired');
  });

  it('a managed secret rotated on Railway is re-read and re-applied', async () => {
    const s = await status(world, id);
    const railway = createRailwayApiFromConfig(world.config.railway);
    const target = { projectId: s.desired?.railway.projectId ?? '', environmentId: s.desired?.railway.environmentId ?? '', serviceId: s.desired?.railway.webappServiceId ?? '' };
    await railway.upsertVariables(target, { MANAGED_WORKER_SECRET: `rotated-${Date.now().toString(16)}` });
    await waitFor('the webapp to redeploy', () => (world.sandbox.railway.inspect().deployments[0]?.status === 'SUCCESS' ? true : undefined), 15_000);
    const events = await healUntilHealthy();
    assert.equal(events[0]?.action, 'reapply-config', JSON.stringify(events));
    assert.equal(events[0]?.decision, 'repaired');
  });

  it('a powered-off droplet is powered on', async () => {
    const api = createDigitalOceanApi({ token: world.sandbox.digitalocean.token, apiUrl: world.sandbox.digitalocean.url, ca: world.sandbox.digitalocean.ca });
    const dId = await dropletId();
    await api.dropletAction(dId, { type: 'power_off' });
    await waitFor('the droplet to be off', async () => ((await api.getDroplet(dId)).status === 'off' ? true : undefined), 15_000);
    const events = await healUntilHealthy();
    assert.equal(events[0]?.action, 'power-on', JSON.stringify(events));
    assert.equal(events[0]?.decision, 'repaired');
  });

  it('a full disk is pruned; when it stays full the repairs stop at the hourly cap', async () => {
    await installationHandle(world, id).executeUpdate(configureUpdate, { args: [{ repairCapPerHour: 100, repairBackoffSeconds: 0 }] });
    const before = (await status(world, id)).repairs.lastHour;
    await installationHandle(world, id).executeUpdate(configureUpdate, { args: [{ repairCapPerHour: before + 2 }] });
    world.sandbox.droplets.faults.fullDisk(await dropletId(), true);
    for (let i = 0; i < 3; i++) await healNow(world, id);
    const s = await status(world, id);
    const decisions = s.healEvents.slice(0, 3).reverse().map((e) => `${e.action}:${e.decision}`);
    assert.deepEqual(decisions, ['prune:repair-failed', 'prune:repair-failed', 'prune:capped'], JSON.stringify(s.healEvents.slice(0, 3)));
    assert.match(s.healEvents[0]?.reason ?? '', /cap/);
    assert.equal(s.conditions.find((c) => c.type === 'DiskHasRoom')?.reason, 'DiskShort');
    world.sandbox.droplets.faults.fullDisk(await dropletId(), false);
    await installationHandle(world, id).executeUpdate(configureUpdate, { args: [{ repairCapPerHour: 100 }] });
    await healUntilHealthy(1);
  });

  it('a droplet deleted behind our back is replaced through migrate', async () => {
    const api = createDigitalOceanApi({ token: world.sandbox.digitalocean.token, apiUrl: world.sandbox.digitalocean.url, ca: world.sandbox.digitalocean.ca });
    await api.deleteDroplet(await dropletId());
    const events = await healUntilHealthy();
    assert.equal(events[0]?.action, 'replace-droplet', JSON.stringify(events));
    assert.equal(events[0]?.decision, 'repaired');
    const s = await status(world, id);
    assert.equal(s.desired?.droplet.name, resourceNames(id).droplet(2));
    const live = world.sandbox.digitalocean.inspect().droplets.filter((d) => d.tags.includes(resourceNames(id).tag));
    assert.equal(live.length, 1);
  });

  it('the heal schedule runs heal checks on its own', async () => {
    const schedule = world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id));
    await installationHandle(world, id).executeUpdate(configureUpdate, { args: [{ healIntervalSeconds: 1 }] });
    const before = (await status(world, id)).recent.filter((r) => r.details?.['source'] === 'schedule').length;
    await schedule.unpause('test');
    await waitForStatus(world, id, 'a scheduled heal', (s) => s.recent.filter((r) => r.details?.['source'] === 'schedule').length > before, 20_000).catch(async (err: unknown) => {
      const d = await schedule.describe();
      console.log(JSON.stringify({ spec: d.spec, state: d.state, info: d.info }), JSON.stringify((await status(world, id)).recent.slice(0, 5)));
      throw err;
    });
    await schedule.pause('test done');
    const scheduled = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
    if (scheduled) await recordHistory(world, scheduled, 'heal.json');
  });
});

/** RECORD_HISTORIES=1: keeps this run's history for test/replay (codec key TEST_CODEC_KEY). */
async function recordHistory(world: World, workflowId: string, file: string): Promise<void> {
  if (!process.env['RECORD_HISTORIES']) return;
  const history = await world.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(join(__dirname, '..', 'replay', 'histories', file), historyToJSON(history));
}
