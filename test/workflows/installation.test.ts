import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { workflowIds } from '../../src/shared/ids';
import { teardown } from '../../src/workflows';
import { deployAndAdopt, healNow, status } from '../helpers/lifecycle';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';

describe('installation workflow: hand-over from deploy, status, heal schedule, teardown', () => {
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

  it('deploy hands over to installation:<id>, creates heal:<id>; a healthy check only observes; teardown removes both', async () => {
    const { result } = await deployAndAdopt(world, 'life');
    const s = await status(world, 'life');
    assert.equal(s.desired?.supervisorVersion, result.supervisorVersion);
    assert.equal(s.desired?.droplet.name, 'tops-life-g1');
    assert.equal(s.recent[0]?.kind, 'configure');
    const schedule = await world.temporal.client.schedule.getHandle(workflowIds.healSchedule('life')).describe();
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.equal(schedule.policies.overlap, 'SKIP');

    const doBefore = world.sandbox.digitalocean.inspect().callsByOperation;
    const events = await healNow(world, 'life');
    const after = await status(world, 'life');
    assert.equal(after.healEvents[0]?.decision, 'observed-healthy', JSON.stringify(after.healEvents[0]));
    assert.deepEqual(after.healEvents[0]?.calls, { digitalocean: 1, ssh: 1, railway: 1, webapp: 1 });
    assert.ok(after.conditions.every((c) => c.status === 'True'), JSON.stringify(after.conditions));
    const doAfter = world.sandbox.digitalocean.inspect().callsByOperation;
    const doCalls = Object.entries(doAfter).reduce((n, [op, count]) => n + count - (doBefore[op] ?? 0), 0);
    assert.equal(doCalls, 1);
    assert.ok(events.length >= 1);

    await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.teardown('life'),
      args: [{ installationId: 'life' }],
    });
    await assert.rejects(world.temporal.client.schedule.getHandle(workflowIds.healSchedule('life')).describe(), ScheduleNotFoundError);
    const d = await world.temporal.client.workflow.getHandle(workflowIds.installation('life')).describe();
    assert.equal(d.status.name, 'COMPLETED');
    // Idempotent: a second teardown finds nothing to retire.
    await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: `${workflowIds.teardown('life')}-again`,
      args: [{ installationId: 'life' }],
    });
  });
});
