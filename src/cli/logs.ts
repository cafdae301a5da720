import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { describeZodError } from '../shared/validation';
import { logs, logsInputSchema } from '../workflows';
import { CliError, installationCommand, printResult, withClient } from './context';

export function registerLogs(program: Command): void {
  installationCommand(program, 'logs', 'recent supervisor logs (over SSH) and webapp logs (from Railway), secrets redacted')
    .option('--source <source>', 'supervisor, webapp or all', 'all')
    .option('-n, --tail <lines>', 'lines from each source', '200')
    .action(async (flags: { installation: string; source: string; tail: string; json?: boolean }) => {
      const parsed = logsInputSchema.safeParse({ installationId: flags.installation, source: flags.source, tail: Number(flags.tail) });
      if (!parsed.success) throw new CliError(`Invalid logs options: ${describeZodError(parsed.error, 'logs')}`, 2);
      const result = await withClient((client, config) =>
        client.workflow.execute(logs, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.logs(parsed.data.installationId),
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          args: [parsed.data],
        }),
      );
      printResult(flags, result, () => {
        const out = (result.supervisor ?? []).map((s) => `── supervisor on ${s.droplet} ──\n${s.log.trimEnd()}\n`);
        if (result.webapp) {
          out.push(`── webapp (${result.webapp.service}, deployment ${result.webapp.deploymentId ?? 'none'}) ──\n`);
          out.push(...result.webapp.lines.map((l) => `${l}\n`));
        }
        return out.join('');
      });
    });
}
