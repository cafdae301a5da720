import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { workflowIds } from '../shared/ids';
import { describeZodError } from '../shared/validation';
import { logs, logsInputSchema } from '../workflows';
import { CliError, cliClient, cliConfig, failureMessage } from './context';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('recent supervisor logs (over SSH) and webapp logs (from Railway), secrets redacted')
    .option('-i, --installation <id>', 'installation id', 'default')
    .option('--source <source>', 'supervisor, webapp or all', 'all')
    .option('-n, --tail <lines>', 'lines from each source', '200')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { installation: string; source: string; tail: string; json?: boolean }) => {
      const parsed = logsInputSchema.safeParse({ installationId: flags.installation, source: flags.source, tail: Number(flags.tail) });
      if (!parsed.success) throw new CliError(`Invalid logs options: ${describeZodError(parsed.error, 'logs')}`, 2);
      const config = cliConfig();
      const client = await cliClient(config);
      try {
        const result = await client.workflow.execute(logs, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.logs(parsed.data.installationId),
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          args: [parsed.data],
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        for (const s of result.supervisor ?? []) process.stdout.write(`── supervisor on ${s.droplet} ──\n${s.log.trimEnd()}\n`);
        if (result.webapp) {
          process.stdout.write(`── webapp (${result.webapp.service}, deployment ${result.webapp.deploymentId ?? 'none'}) ──\n`);
          process.stdout.write(result.webapp.lines.map((l) => `${l}\n`).join(''));
        }
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new CliError(failureMessage(err), 5);
        throw err;
      } finally {
        await client.connection.close();
      }
    });
}
