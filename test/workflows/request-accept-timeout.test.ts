import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { status } from '../helpers/lifecycle';
import { waitFor } from '../helpers/wait';
import { startWorkerProcessWorld, upgradesTo, type WorkerProcessWorld } from '../helpers/worker-process';

const ID = 'waited';

/**
 * The other two ends of an upgrade sent around a dead worker (see request-worker-down.test.ts): accepted, then the
 * worker dies (the CLI follows it to its end on the next worker), and never accepted in time ("nothing was done",
 * and it stays undone when a worker comes back later).
 */
describe('an upgrade whose worker dies after accepting it ends once; one no worker accepted in time never runs', () => {
  let w: WorkerProcessWorld;

  before(async () => {
    w = await startWorkerProcessWorld(ID);
  });
  after(() => w.close());

  it('the worker dies after accepting the upgrade: the CLI follows it to its end on the next worker', async () => {
    // Slow reconnects keep the upgrade in its health gate long enough to kill the worker there.
    w.world.sandbox.webapp.faults.failNext('connect', 2, { status: 503 });
    const run = w.cli(['upgrade', 'v4.5.12', '--json']);
    // Killed inside the step that heartbeats: its retry on the next worker starts once the heartbeat is missed.
    await waitFor('the upgrade to recreate', async () => ((await status(w.world, ID)).current?.step === 'pull-and-recreate' ? true : undefined), 30_000, 20);
    await w.killWorker();
    await w.startWorker();
    assert.equal(await run.exited, 0, run.output());
    assert.equal((JSON.parse(run.stdout()) as { outcome: string }).outcome, 'upgraded', run.stdout());
    const s = await status(w.world, ID);
    assert.deepEqual(upgradesTo(s, 'v4.5.12').map((r) => r.outcome), ['succeeded'], JSON.stringify(s.recent));
    assert.equal(w.runningVersion(), '4.5.12');
  });

  it('no worker within --accept-timeout: "nothing was done", and a worker that starts later does not do it either', async () => {
    await w.killWorker();
    const run = w.cli(['upgrade', 'v4.5.9', '--accept-timeout', '3']);
    assert.equal(await run.exited, 3, run.output());
    assert.match(run.output(), /no worker accepted the upgrade request within 3s: nothing was done/);
    // The request still sits on the server; the worker that picks it up refuses it as too late.
    await w.startWorker();
    await waitFor('the installation to answer', async () => ((await status(w.world, ID)).current === null ? true : undefined), 30_000, 100);
    await sleep(3000);
    const s = await status(w.world, ID);
    assert.deepEqual(upgradesTo(s, 'v4.5.9'), [], JSON.stringify(s.recent));
    assert.equal(s.current, null);
    assert.equal(w.runningVersion(), '4.5.12');
  });
});
