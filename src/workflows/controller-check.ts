import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createControllerActivities } from '../activities/controller';
import {
  controllerCheckInputSchema,
  type ControllerCheckInput,
  type ControllerCheckResult,
} from '../shared/controller-check';
import { quickActivity } from './options';
import { parseInput } from './validate';

const { inspectWorker } = proxyActivities<ReturnType<typeof createControllerActivities>>(quickActivity);

/** Proves the controller end to end: client → server → worker → activity → result, through the payload codec. */
export async function controllerCheck(input: ControllerCheckInput): Promise<ControllerCheckResult> {
  const { reason } = parseInput(controllerCheckInputSchema, input, 'controllerCheck');
  const worker = await inspectWorker();
  log.info('controller check done', { workflowId: workflowInfo().workflowId, worker: worker.workerIdentity });
  return { reason, ...worker };
}
