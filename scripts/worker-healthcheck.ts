// Container health of a trigger-ops worker, as the Temporal server sees it: this container's worker (identity
// `<pid>@<hostname>`, the SDK default) has polled the task queue for workflow and activity tasks recently.
// A worker that crashed, hung or lost its connection stops polling and turns the container unhealthy.
// Exit 0 = healthy, 1 = unhealthy; one line of output either way (Docker keeps it in `docker inspect`).
import { hostname } from 'node:os';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../src/config';
import { connectionOptions } from '../src/temporal/connection';

/** A long poll lasts about a minute, so a live worker's last access is never much older than that. */
export const MAX_POLL_AGE_MS = 120_000;

const { TaskQueueType } = temporal.api.enums.v1;
type TaskQueueTypeValue = (typeof TaskQueueType)[keyof typeof TaskQueueType];

async function lastPollAgeMs(connection: Connection, namespace: string, taskQueue: string,
  type: TaskQueueTypeValue, identitySuffix: string): Promise<number | undefined> {
  const { pollers } = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: type,
  });
  const ages = (pollers ?? [])
    .filter((p) => p.identity?.endsWith(identitySuffix))
    .map((p) => Date.now() - Number(p.lastAccessTime?.seconds ?? 0) * 1000);
  return ages.length > 0 ? Math.min(...ages) : undefined;
}

export async function checkWorkerHealth(env: NodeJS.ProcessEnv): Promise<{ healthy: boolean; message: string }> {
  const config = loadConfig(env);
  const address = config.temporal.address;
  if (!address) return { healthy: false, message: 'TEMPORAL_ADDRESS is unset; a container worker needs an external Temporal' };
  const connection = await Connection.connect({ ...connectionOptions(config.temporal, address), connectTimeout: '5s' });
  try {
    const suffix = `@${hostname()}`;
    const { namespace, taskQueue } = config.temporal;
    const workflow = await lastPollAgeMs(connection, namespace, taskQueue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, suffix);
    const activity = await lastPollAgeMs(connection, namespace, taskQueue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, suffix);
    const stale = Object.entries({ workflow, activity })
      .filter(([, age]) => age === undefined || age > MAX_POLL_AGE_MS)
      .map(([kind]) => kind);
    if (stale.length > 0) {
      return {
        healthy: false,
        message: `no recent ${stale.join(' and ')} poll from *${suffix} on task queue "${taskQueue}" at ${address}`,
      };
    }
    const age = Math.round(Math.max(workflow ?? 0, activity ?? 0) / 1000);
    return { healthy: true, message: `worker *${suffix} polling "${taskQueue}" at ${address} (last poll ${age}s ago)` };
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  checkWorkerHealth(process.env).then(
    ({ healthy, message }) => {
      process.stdout.write(`${healthy ? 'healthy' : 'unhealthy'}: ${message}\n`);
      process.exit(healthy ? 0 : 1);
    },
    (err: unknown) => {
      process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
