import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { statusQuery, upgradeSupervisorUpdate } from '../shared/installation-messages';
import { upgradeRequestSchema } from '../shared/lifecycle';
import { describeZodError } from '../shared/validation';
import { CliError, installationCommand, parseInstallation, printResult, withClient } from './context';
import { followOperation } from './watch';

export function registerUpgrade(program: Command): void {
  installationCommand(program, 'upgrade <version>', 'upgrade the supervisor to a pinned release (pull first, recreate, health gate, automatic rollback)').action(
    async (version: string, flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      const request = upgradeRequestSchema.safeParse({ version });
      if (!request.success) throw new CliError(describeZodError(request.error).replace('input.version', 'version'), 2);
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(workflowIds.installation(installationId));
        const outcome = await followOperation(handle, statusQuery, handle.executeUpdate(upgradeSupervisorUpdate, { args: [request.data] }), {
          print: (line) => process.stderr.write(`${line}\n`),
          detachHint: `Follow it with: trigger-ops status -i ${installationId}`,
        });
        if (outcome.detached) return;
        const r = outcome.result;
        printResult(flags, r, () => {
          const gap = r.downtimeSeconds === null ? '' : ` Supervisor down ${r.downtimeSeconds}s, not connected ${r.notConnectedSeconds ?? '?'}s.`;
          return `${r.outcome}: ${r.message}.${gap}\n`;
        });
        if (!['upgraded', 'unchanged'].includes(r.outcome)) throw new CliError(`Upgrade ${r.outcome}.`, 5);
      }, installationId);
    },
  );
}
