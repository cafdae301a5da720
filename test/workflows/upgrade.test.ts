import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { resourceNames } from '../../src/shared/ids';
import { configureUpdate, upgradeSupervisorUpdate } from '../../src/shared/installation-messages';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { causeChain, deployAndAdopt, status, waitForStatus } from '../helpers/lifecycle';

describe('upgradeSupervisor on the installation workflow', () => {
  let world: World;
  let worker: RunningWorker;
  const id = 'up';
  const instance = () => world.sandbox.webapp.workerInstances().find((i) => i.name === resourceNames(id).droplet(1));

  before(async () => {
    world = await startWorld();
    worker = await world.startWorker();
    await deployAndAdopt(world, id);
  });

  after(async () => {
    await worker.stop();
    await world.close();
  });

  it('upgrades v4.5.11 → v4.5.12: the webapp sees the new workerVersion, and the gap is measured', async () => {
    assert.equal(instance()?.workerVersion, '4.5.11');
    const handle = world.temporal.client.workflow.getHandle(`installation:${id}`);
    const r = await handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] });
    assert.equal(r.outcome, 'upgraded', r.message);
    assert.equal(r.from, 'v4.5.11');
    assert.ok(r.downtimeSeconds !== null && r.downtimeSeconds < 10, String(r.downtimeSeconds));
    assert.ok(r.notConnectedSeconds !== null && r.notConnectedSeconds >= (r.downtimeSeconds ?? 0));
    assert.equal(instance()?.workerVersion, '4.5.12');
    assert.equal((await status(world, id)).desired?.supervisorVersion, 'v4.5.12');
  });

  it('rejects a tag the registry lacks without touching the running supervisor', async () => {
    const handle = world.temporal.client.workflow.getHandle(`installation:${id}`);
    const restartsBefore = world.sandbox.droplets.inspect(world.sandbox.digitalocean.inspect().droplets[0]?.id ?? 0).containers.find((c) => c.name === 'supervisor')?.restartCount;
    const r = await handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.13' }] });
    assert.equal(r.outcome, 'rejected', r.message);
    assert.match(r.message, /manifest unknown|not found/i);
    assert.match(r.message, /v4\.5\.12 keeps serving/);
    const s = await status(world, id);
    assert.equal(s.desired?.supervisorVersion, 'v4.5.12');
    assert.equal(instance()?.workerVersion, '4.5.12');
    const restartsAfter = world.sandbox.droplets.inspect(world.sandbox.digitalocean.inspect().droplets[0]?.id ?? 0).containers.find((c) => c.name === 'supervisor')?.restartCount;
    assert.equal(restartsAfter, restartsBefore);
  });

  it('rejects a floating or malformed version in the validator, and another release line before pulling', async () => {
    const handle = world.temporal.client.workflow.getHandle(`installation:${id}`);
    const err = await handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'latest' }] }).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.match(causeChain(err), /input\.version/);
    const other = await handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.4.6' }] });
    assert.equal(other.outcome, 'rejected');
    assert.match(other.message, /release line/);
  });

  it('rolls back automatically when the new version fails its health gate, and says why', async () => {
    const handle = world.temporal.client.workflow.getHandle(`installation:${id}`);
    await handle.executeUpdate(configureUpdate, { args: [{ healthTimeoutSeconds: 5 }] });
    world.sandbox.webapp.faults.failNext('connect', 10_000, { status: 503 });
    const pending = handle.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.10' }] });
    await waitForStatus(world, id, 'the rollback to start', (s) => s.current?.step === 'rolling-back', 30_000);
    world.sandbox.webapp.faults.clear();
    const r = await pending;
    assert.equal(r.outcome, 'rolled-back', r.message);
    assert.match(r.message, /did not connect/);
    assert.equal((await status(world, id)).desired?.supervisorVersion, 'v4.5.12');
    assert.equal(instance()?.workerVersion, '4.5.12');
  });
});
