import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { workflowIds } from '../../src/shared/ids';
import { teardown } from '../../src/workflows';
import { healSignal, migrateSignal, upgradeSupervisorSignal } from '../../src/shared/installation-messages';
import { deployAndAdopt, healNow, installationHandle, status, waitForStatus } from '../helpers/lifecycle';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';

describe('installation workflow: hand-over from deploy, status, heal schedule, teardown', () => {
  let world: World;
  let worker: RunningWorker;

  before(async () => {
    // Its own dev server, suggesting continue-as-new every 40 events: the entity must carry its state and queue.
    world = await startWorld({ codecKey: TEST_CODEC_KEY, temporalArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'] });
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
    await recordHistory(world, workflowIds.installation('life'), 'installation.json');
    // Idempotent: a second teardown finds nothing to retire.
    await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: `${workflowIds.teardown('life')}-again`,
      args: [{ installationId: 'life' }],
    });
  });

  it('runs upgrade, migrate and heal sent at once one after another, collapses the pointless ones, and continues as new', async () => {
    await deployAndAdopt(world, 'busy');
    const handle = installationHandle(world, 'busy');
    await handle.signal(migrateSignal, { size: 's-4vcpu-8gb' });
    await handle.signal(upgradeSupervisorSignal, { version: 'v4.5.10' });
    await handle.signal(upgradeSupervisorSignal, { version: 'v4.5.12' });
    await handle.signal(healSignal, { source: 'manual' });
    await handle.signal(healSignal, { source: 'manual' });
    await handle.signal(upgradeSupervisorSignal, { version: 'latest' });
    const queued = await status(world, 'busy');
    assert.ok(queued.queue.length + (queued.current ? 1 : 0) >= 3, JSON.stringify(queued.queue));

    // A worker restart in between changes nothing: the entity's state lives in Temporal.
    await worker.stop();
    worker = await world.startWorker();

    const done = await waitForStatus(world, 'busy', 'the queue to drain', (s) => s.queue.length === 0 && s.current === null && s.recent.some((r) => r.kind === 'heal' && r.outcome === 'succeeded'), 90_000);
    // The deploy that made the installation took its turn first (every deploy does); what follows is the queue.
    const ran = done.recent.filter((r) => r.startedAt !== null && !['configure', 'adopt', 'deploy'].includes(r.kind)).reverse();
    assert.deepEqual(ran.map((r) => r.kind), ['migrate', 'upgrade', 'heal'], JSON.stringify(done.recent));
    for (let i = 1; i < ran.length; i++) {
      assert.ok((ran[i - 1]?.finishedAt ?? '') <= (ran[i]?.startedAt ?? ''), `${ran[i - 1]?.id} overlaps ${ran[i]?.id}`);
    }
    const superseded = done.recent.filter((r) => r.outcome === 'superseded').map((r) => r.kind).sort();
    assert.deepEqual(superseded, ['heal', 'upgrade']);
    assert.ok(done.recent.some((r) => r.kind === 'upgrade' && r.outcome === 'refused' && /input\.version/.test(r.message)));
    assert.equal(done.desired?.supervisorVersion, 'v4.5.12');
    assert.equal(done.desired?.size, 's-4vcpu-8gb');
    assert.ok(done.runs > 0, `expected continue-as-new, runs=${done.runs}`);
  });
});

/** RECORD_HISTORIES=1: keeps this run's history for test/replay (codec key TEST_CODEC_KEY). */
async function recordHistory(world: World, workflowId: string, file: string): Promise<void> {
  if (!process.env['RECORD_HISTORIES']) return;
  const history = await world.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(join(__dirname, '..', 'replay', 'histories', file), historyToJSON(history));
}
