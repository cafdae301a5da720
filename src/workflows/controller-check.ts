import { log, workflowInfo } from '@temporalio/workflow';
import {
  controllerCheckInputSchema,
  type ControllerCheckInput,
  type ControllerCheckResult,
} from '../shared/controller-check';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/** Proves the controller end to end: client → server → worker → activity → result, through the payload codec. */
export async function controllerCheck(input: ControllerCheckInput): Promise<ControllerCheckResult> {
  const { reason } = parseInput(controllerCheckInputSchema, input, 'controllerCheck');
  const worker = await acts.inspectWorker();
  log.info('controller check done', { workflowId: workflowInfo().workflowId, worker: worker.workerIdentity });
  return { reason, ...worker };
}
