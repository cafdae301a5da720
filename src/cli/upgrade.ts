import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { upgradeRequestSchema } from '../shared/lifecycle';
import { describeZodError } from '../shared/validation';
import { statusQuery, upgradeSupervisorUpdate } from '../shared/installation-messages';
import { CliError, cliClient, cliConfig } from './context';
import { lifecycleError, parseInstallation } from './lifecycle-common';
import { followOperation } from './watch';

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade <version>')
    .description('upgrade the supervisor to a pinned release (pull first, recreate, health gate, automatic rollback)')
    .option('-i, --installation <id>', 'installation id', 'default')
    .option('--json', 'print the result as JSON')
    .action(async (version: string, flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      const request = upgradeRequestSchema.safeParse({ version });
      if (!request.success) throw new CliError(describeZodError(request.error).replace('input.version', 'version'), 2);
      const client = await cliClient(cliConfig());
      try {
        const handle = client.workflow.getHandle(workflowIds.installation(installationId));
        const outcome = await followOperation(handle, statusQuery, handle.executeUpdate(upgradeSupervisorUpdate, { args: [request.data] }), {
          print: (line) => process.stderr.write(`${line}\n`),
          detachHint: `Follow it with: trigger-ops status -i ${installationId}`,
        });
        if (outcome.detached) return;
        const r = outcome.result;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(r)}\n`);
        } else {
          const gap = r.downtimeSeconds === null ? '' : ` Supervisor down ${r.downtimeSeconds}s, not connected ${r.notConnectedSeconds ?? '?'}s.`;
          process.stdout.write(`${r.outcome}: ${r.message}.${gap}\n`);
        }
        if (!['upgraded', 'unchanged'].includes(r.outcome)) throw new CliError(`Upgrade ${r.outcome}.`, 5);
      } catch (err) {
        throw lifecycleError(err, installationId);
      } finally {
        await client.connection.close();
      }
    });
}
