import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deploy } from '../../src/workflows';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';

describe('deploy on the sandbox', () => {
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

  it('deploys a connected supervisor on exactly one droplet behind an SSH-only firewall', async () => {
    const result = await world.temporal.client.workflow.execute(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: 'deploy:happy',
      args: [{ installationId: 'happy', options: { healthTimeoutSeconds: 60, bootTimeoutSeconds: 60 } }],
    });
    assert.equal(result.supervisorVersion, 'v4.5.12');
    const state = world.sandbox.digitalocean.inspect();
    const droplets = state.droplets.filter((d) => d.tags.includes('trigger-ops-happy'));
    assert.equal(droplets.length, 1);
    console.log(JSON.stringify(result), JSON.stringify(state.firewalls));
    const instances = world.sandbox.webapp.workerInstances();
    console.log(JSON.stringify(instances));
  });
});
