import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../scripts/bundle-workflows';
import { createActivities } from '../../src/activities';
import { loadConfig, type Config } from '../../src/config';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox';
import { workerDataConverter } from '../../src/temporal/connection';
import { activityDepsFromConfig } from '../../src/worker';
import { startTestTemporal, workflowBundle, type TestTemporal } from './temporal';

export interface World {
  readonly sandbox: Sandbox;
  readonly temporal: TestTemporal;
  readonly config: Config;
  readonly dataDir: string;
  /** Starts a worker on the test task queue (a fresh one after a simulated crash). */
  startWorker(): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface RunningWorker {
  readonly worker: Worker;
  stop(): Promise<void>;
}

/** The sandbox, a real Temporal server and workers wired exactly like production, through config only. */
export async function startWorld(
  options: { sandbox?: SandboxOptions; env?: Record<string, string>; codecKey?: Buffer; temporalArgs?: string[]; taskQueue?: string; temporalDbFilename?: string } = {},
): Promise<World> {
  const temporal = await startTestTemporal({
    ...(options.codecKey ? { codecKey: options.codecKey } : {}),
    ...(options.temporalDbFilename ? { dbFilename: options.temporalDbFilename } : {}),
    ...(options.temporalArgs ? { extraArgs: options.temporalArgs } : {}),
    ...(options.taskQueue ? { taskQueue: options.taskQueue } : {}),
  });
  const sandbox = await startSandbox({ fast: true, ...options.sandbox });
  const dataDir = mkdtempSync(join(tmpdir(), 'trigger-ops-data-'));
  const config = loadConfig({ ...sandbox.env, TRIGGER_OPS_DATA_DIR: dataDir, ...options.env });
  const workers = new Set<RunningWorker>();
  const bundle = await workflowBundle();
  return {
    sandbox,
    temporal,
    config,
    dataDir,
    async startWorker() {
      const worker = await Worker.create({
        connection: temporal.connection,
        taskQueue: temporal.taskQueue,
        workflowBundle: bundle,
        activities: createActivities(activityDepsFromConfig(config, temporal.codec, { temporalClient: async () => temporal.client })),
        dataConverter: workerDataConverter(temporal.codec),
        shutdownGraceTime: '1 second',
        // A test must never wait forever on an activity that ignores cancellation.
        shutdownForceTime: '10 seconds',
      });
      const running = worker.run();
      const handle: RunningWorker = {
        worker,
        async stop() {
          workers.delete(handle);
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running.catch(() => undefined);
        },
      };
      workers.add(handle);
      return handle;
    },
    async close() {
      for (const w of [...workers]) await w.stop();
      await sandbox.close();
      await temporal.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The environment a `trigger-ops worker` process of `world` runs with (spawnCli): the sandbox's endpoints, the
 * world's Temporal server, task queue, codec key and data directory, and a workflow bundle built into `dir`.
 */
export async function cliWorkerEnv(world: World, codecKey: Buffer, dir: string): Promise<Record<string, string>> {
  const bundle = await bundleWorkflows(join(dir, 'workflow-bundle.js'));
  return {
    ...world.sandbox.env,
    TEMPORAL_ADDRESS: world.temporal.address,
    TEMPORAL_TASK_QUEUE: world.temporal.taskQueue,
    TRIGGER_OPS_CODEC_KEY: codecKey.toString('base64'),
    TRIGGER_OPS_DATA_DIR: world.dataDir,
    TRIGGER_OPS_WORKFLOW_BUNDLE: bundle.path,
  };
}
