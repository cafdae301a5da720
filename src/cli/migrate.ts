import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { migrateUpdate, statusQuery } from '../shared/installation-messages';
import { migrateRequestSchema } from '../shared/lifecycle';
import { describeZodError } from '../shared/validation';
import { CliError, installationCommand, parseInstallation, printResult, withClient } from './context';
import { followOperation } from './watch';

export function registerMigrate(program: Command): void {
  installationCommand(program, 'migrate', 'move the supervisor to a new droplet (blue-green); the old one serves until the new one is healthy')
    .option('--size <slug>', 'DigitalOcean size, e.g. s-4vcpu-8gb')
    .option('--region <slug>', 'DigitalOcean region, e.g. fra1')
    .option('--image <slug>', 'DigitalOcean image, e.g. docker-20-04')
    .action(async (flags: { installation: string; size?: string; region?: string; image?: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      const request = migrateRequestSchema.safeParse({
        ...(flags.size ? { size: flags.size } : {}),
        ...(flags.region ? { region: flags.region } : {}),
        ...(flags.image ? { image: flags.image } : {}),
      });
      if (!request.success) throw new CliError(describeZodError(request.error).replace(/input\./g, '--'), 2);
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(workflowIds.installation(installationId));
        const outcome = await followOperation(handle, statusQuery, handle.executeUpdate(migrateUpdate, { args: [request.data] }), {
          print: (line) => process.stderr.write(`${line}\n`),
          detachHint: `Follow it with: trigger-ops status -i ${installationId}`,
        });
        if (outcome.detached) return;
        const r = outcome.result;
        printResult(flags, r, () => `${r.outcome}: ${r.message}\n`);
        if (r.outcome !== 'migrated') throw new CliError(`Migrate ${r.outcome}.`, 5);
      }, installationId);
    });
}
