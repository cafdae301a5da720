import type { Command } from 'commander';
import { migrateUpdate } from '../shared/installation-messages';
import { migrateRequestSchema } from '../shared/lifecycle';
import { describeZodError } from '../shared/validation';
import { acceptTimeoutOption, CliError, installationCommand, parseAcceptTimeout, parseInstallation, printResult } from './context';
import { runInstallationUpdate } from './watch';

export function registerMigrate(program: Command): void {
  acceptTimeoutOption(
    installationCommand(program, 'migrate', 'move the supervisor to a new droplet (blue-green); the old one serves until the new one is healthy')
      .option('--size <slug>', 'DigitalOcean size, e.g. s-4vcpu-8gb')
      .option('--region <slug>', 'DigitalOcean region, e.g. fra1')
      .option('--image <slug>', 'DigitalOcean image, e.g. docker-20-04'),
  ).action(async (flags: { installation: string; size?: string; region?: string; image?: string; json?: boolean; acceptTimeout?: string }) => {
    const installationId = parseInstallation(flags.installation);
    const acceptTimeoutSeconds = parseAcceptTimeout(flags.acceptTimeout);
    const request = migrateRequestSchema.safeParse({
      ...(flags.size ? { size: flags.size } : {}),
      ...(flags.region ? { region: flags.region } : {}),
      ...(flags.image ? { image: flags.image } : {}),
    });
    if (!request.success) throw new CliError(describeZodError(request.error).replace(/input\./g, '--'), 2);
    const r = await runInstallationUpdate(installationId, migrateUpdate, request.data, { kind: 'migrate', acceptTimeoutSeconds });
    if (!r) return;
    printResult(flags, r, () => `${r.outcome}: ${r.message}\n`);
    if (r.outcome !== 'migrated') throw new CliError(`Migrate ${r.outcome}.`, 5);
  });
}
