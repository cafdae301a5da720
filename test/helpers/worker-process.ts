import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workflowIds } from '../../src/shared/ids';
import type { InstallationStatus } from '../../src/shared/lifecycle';
import { deploy } from '../../src/workflows';
import { cliWorkerEnv, startWorld, type World } from './installation';
import { status } from './lifecycle';
import { spawnCli, type Spawned } from './processes';
import { TEST_CODEC_KEY } from './temporal';
import { waitFor } from './wait';

/** The upgrade records of `status` that went (or were asked to go) to `version`. */
export function upgradesTo(s: InstallationStatus, version: string) {
  return s.recent.filter((r) => r.kind === 'upgrade' && r.details?.['to'] === version);
}

export interface WorkerProcessWorld {
  readonly world: World;
  /** The version the installation's first droplet's supervisor reported to the webapp. */
  runningVersion(): string | undefined;
  /** Starts a `trigger-ops worker` process and waits until it polls. */
  startWorker(): Promise<Spawned>;
  /** The running worker process, if any. */
  readonly worker: Spawned | undefined;
  /** SIGKILLs the running worker process. */
  killWorker(): Promise<void>;
  /** Runs `trigger-ops <args> -i <installation>` as a user would. */
  cli(args: readonly string[]): Spawned;
  close(): Promise<void>;
}

/**
 * Real `trigger-ops worker` processes of one environment, one running at a time: started (and waited for until it
 * polls), SIGKILLed, and every process spawned (workers and CLI runs) kept, for their output and for clean-up.
 */
export class WorkerProcesses {
  private current: Spawned | undefined;
  readonly spawned: Spawned[] = [];
  /** Workers SIGKILLed so far. */
  kills = 0;

  constructor(private readonly env: Record<string, string>) {}

  get worker(): Spawned | undefined {
    return this.current;
  }

  async start(): Promise<Spawned> {
    const w = spawnCli(['worker'], this.env);
    this.spawned.push(w);
    await waitFor('the worker to poll', () => (/worker polling/.test(w.output()) ? true : undefined), 60_000, 100);
    this.current = w;
    return w;
  }

  /** SIGKILLs the running worker, if any. */
  async kill(): Promise<void> {
    const w = this.current;
    this.current = undefined;
    if (!w) return;
    w.child.kill('SIGKILL');
    assert.equal(await w.exited, 'SIGKILL');
    this.kills++;
  }

  /** Runs `trigger-ops <args>` as a user would. */
  cli(args: readonly string[]): Spawned {
    const run = spawnCli(args, this.env);
    this.spawned.push(run);
    return run;
  }

  async close(): Promise<void> {
    for (const p of this.spawned) p.child.kill('SIGKILL');
    await Promise.all(this.spawned.map((p) => p.exited));
  }
}

/**
 * A world whose worker is a real `trigger-ops worker` process (stopped and killed with signals by the tests) and an
 * installation deployed on it, its heal schedule paused.
 */
export async function startWorkerProcessWorld(installationId: string): Promise<WorkerProcessWorld> {
  const world = await startWorld({ codecKey: TEST_CODEC_KEY });
  const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-worker-'));
  const processes = new WorkerProcesses(await cliWorkerEnv(world, TEST_CODEC_KEY, dir));
  const fixture: WorkerProcessWorld = {
    world,
    get worker() {
      return processes.worker;
    },
    runningVersion: () => world.sandbox.webapp.workerInstances().find((i) => i.name === `tops-${installationId}-g1`)?.workerVersion,
    startWorker: () => processes.start(),
    killWorker: () => processes.kill(),
    cli: (args) => processes.cli([...args, '-i', installationId]),
    async close() {
      await processes.close();
      await world.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await fixture.startWorker();
  await world.temporal.client.workflow.execute(deploy, {
    taskQueue: world.temporal.taskQueue,
    workflowId: workflowIds.deploy(installationId),
    args: [{ installationId, options: { healthTimeoutSeconds: 30, bootTimeoutSeconds: 30 } }],
  });
  await waitFor('the installation to adopt the deploy', async () => ((await status(world, installationId)).desired ? true : undefined), 15_000);
  await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(installationId)).pause('tests drive the installation');
  return fixture;
}
