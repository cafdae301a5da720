import type { Command } from 'commander';
import { upgradeSupervisorUpdate } from '../shared/installation-messages';
import { upgradeRequestSchema } from '../shared/lifecycle';
import { describeZodError } from '../shared/validation';
import { acceptTimeoutOption, CliError, installationCommand, parseAcceptTimeout, parseInstallation, printResult } from './context';
import { runInstallationUpdate } from './watch';

export function registerUpgrade(program: Command): void {
  acceptTimeoutOption(
    installationCommand(program, 'upgrade <version>', 'upgrade the supervisor to a pinned release (pull first, recreate, health gate, automatic rollback)'),
  ).action(async (version: string, flags: { installation: string; json?: boolean; acceptTimeout?: string }) => {
    const installationId = parseInstallation(flags.installation);
    const acceptTimeoutSeconds = parseAcceptTimeout(flags.acceptTimeout);
    const request = upgradeRequestSchema.safeParse({ version });
    if (!request.success) throw new CliError(describeZodError(request.error).replace('input.version', 'version'), 2);
    const r = await runInstallationUpdate(installationId, upgradeSupervisorUpdate, request.data, { kind: 'upgrade', acceptTimeoutSeconds });
    if (!r) return;
    printResult(flags, r, () => {
      const gap = r.downtimeSeconds === null ? '' : ` Supervisor down ${r.downtimeSeconds}s, not connected ${r.notConnectedSeconds ?? '?'}s.`;
      return `${r.outcome}: ${r.message}.${gap}\n`;
    });
    if (!['upgraded', 'unchanged'].includes(r.outcome)) throw new CliError(`Upgrade ${r.outcome}.`, 5);
  });
}
