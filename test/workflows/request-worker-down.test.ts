import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { status } from '../helpers/lifecycle';
import { waitFor } from '../helpers/wait';
import { startWorkerProcessWorld, upgradesTo, type WorkerProcessWorld } from '../helpers/worker-process';

const ID = 'asked';

/**
 * An update (here the CLI's `upgrade`) is lost on its way when no worker takes it: none runs, or the one that took
 * it dies before answering (the server then rejects it as "not processed by worker"). The CLI sends it again under
 * one update id until a worker accepts it. Workers are real `trigger-ops worker` processes, stopped and killed with
 * signals; the upgrade is carried out exactly once (one record in `status`).
 */
describe('an upgrade sent while no worker takes it waits for one and runs once', () => {
  let w: WorkerProcessWorld;

  before(async () => {
    w = await startWorkerProcessWorld(ID);
  });
  after(() => w.close());

  it('worker down when the upgrade is sent: the CLI waits for one, and the upgrade runs once when it starts', async () => {
    await w.killWorker();
    const run = w.cli(['upgrade', 'v4.5.12', '--json']);
    await waitFor('the waiting line', () => (/waiting for a worker to accept the upgrade request \(up to 120s\)/.test(run.output()) ? true : undefined), 20_000, 100);
    // Past one attempt (10 s): the CLI has sent the request again by the time a worker comes.
    await sleep(12_000);
    await w.startWorker();
    assert.equal(await run.exited, 0, run.output());
    assert.equal((JSON.parse(run.stdout()) as { outcome: string }).outcome, 'upgraded', run.stdout());
    const s = await status(w.world, ID);
    assert.deepEqual(upgradesTo(s, 'v4.5.12').map((r) => r.outcome), ['succeeded'], JSON.stringify(s.recent));
    assert.equal(w.runningVersion(), '4.5.12');
  });

  it('the worker that took the upgrade dies before accepting it: it is sent again and runs once on the next worker', async () => {
    // A stopped worker still holds its polls: the server hands it the upgrade, which it never answers.
    w.worker?.child.kill('SIGSTOP');
    const run = w.cli(['upgrade', 'v4.5.10', '--json']);
    await waitFor('the waiting line', () => (/waiting for a worker to accept the upgrade request/.test(run.output()) ? true : undefined), 20_000, 100);
    await sleep(1000);
    await w.killWorker();
    await w.startWorker();
    assert.equal(await run.exited, 0, run.output());
    assert.equal((JSON.parse(run.stdout()) as { outcome: string }).outcome, 'upgraded', run.stdout());
    const s = await status(w.world, ID);
    assert.deepEqual(upgradesTo(s, 'v4.5.10').map((r) => r.outcome), ['succeeded'], JSON.stringify(s.recent));
    assert.equal(w.runningVersion(), '4.5.10');
  });
});
