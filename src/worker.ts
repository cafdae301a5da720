import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import type { EncryptionCodec } from './codec/encryption-codec';
import { dataConverter } from './temporal/connection';

export const WORKFLOWS_PATH = require.resolve('./workflows');

export interface CreateWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly codec: EncryptionCodec;
  readonly deps: ActivityDeps;
  /** A pre-built bundle (tests, production image); otherwise the workflows are bundled from source at start. */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Composition root of the worker: dependencies → activities → Worker. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    dataConverter: dataConverter(options.codec),
    // A low-volume controller: few slots, a bounded cache, and time for an SSH step to finish on shutdown.
    maxConcurrentActivityTaskExecutions: 20,
    maxCachedWorkflows: 100,
    shutdownGraceTime: '20 seconds',
    shutdownForceTime: '30 seconds',
  });
}
