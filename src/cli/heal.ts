import type { Command } from 'commander';
import { ScheduleNotFoundError } from '@temporalio/client';
import { workflowIds } from '../shared/ids';
import { healSignal } from '../shared/installation-messages';
import { CliError, parseInstallation, withClient } from './context';

export function registerHeal(program: Command): void {
  const heal = program
    .command('heal')
    .description('run a heal check now (the installation observes and performs the smallest repair)')
    .option('-i, --installation <id>', 'installation id', 'default')
    .action(async (flags: { installation: string }) => {
      const installationId = parseInstallation(flags.installation);
      await withClient(async (client) => {
        await client.workflow.getHandle(workflowIds.installation(installationId)).signal(healSignal, { source: 'manual' });
        process.stdout.write(`Heal check queued for "${installationId}"; its decision shows in the installation's status.\n`);
      }, installationId);
    });

  for (const verb of ['pause', 'resume'] as const) {
    heal
      .command(verb)
      .description(verb === 'pause' ? 'pause the heal schedule' : 'resume the heal schedule')
      .option('-i, --installation <id>', 'installation id', 'default')
      .option('-r, --reason <text>', 'why (kept as the schedule note)', `${verb}d from the trigger-ops CLI`)
      .action(async (flags: { installation: string; reason: string }) => {
        const installationId = parseInstallation(flags.installation);
        await withClient(async (client) => {
          const schedule = client.schedule.getHandle(workflowIds.healSchedule(installationId));
          await (verb === 'pause' ? schedule.pause(flags.reason) : schedule.unpause(flags.reason)).catch((err: unknown) => {
            if (err instanceof ScheduleNotFoundError) throw new CliError(`No heal schedule for "${installationId}": deploy it first.`, 4);
            throw err;
          });
          process.stdout.write(`Heal schedule ${workflowIds.healSchedule(installationId)} ${verb === 'pause' ? 'paused' : 'resumed'}: ${flags.reason}\n`);
        });
      });
  }
}
