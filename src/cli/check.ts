import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { controllerCheck } from '../workflows';
import { cliClient, cliConfig } from './context';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('run the controller check workflow on the running controller and print its result')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = cliConfig();
      const client = await cliClient(config);
      try {
        const result = await client.workflow.execute(controllerCheck, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.controllerCheck(),
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          args: [{ reason: 'trigger-ops check' }],
        });
        process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `controller ok: worker ${result.workerIdentity}, codec key ${result.codecKeyId}\n`);
      } finally {
        await client.connection.close();
      }
    });
}
