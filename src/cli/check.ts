import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { controllerCheck } from '../workflows';
import { printResult, withClient } from './context';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('run the controller check workflow on the running controller and print its result')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await withClient((client, config) =>
        client.workflow.execute(controllerCheck, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.controllerCheck(),
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          args: [{ reason: 'trigger-ops check' }],
        }),
      );
      printResult(opts, result, () => `controller ok: worker ${result.workerIdentity}, codec key ${result.codecKeyId}\n`);
    });
}
