import type { Command } from 'commander';
import { startController } from '../controller';
import { cliConfig } from './context';
import { untilInterrupted } from '../controller/signals';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the trigger-ops worker (starts the embedded Temporal server when TEMPORAL_ADDRESS is unset)')
    .action(async () => {
      const config = cliConfig();
      const controller = await startController(config, (m) => process.stderr.write(`• ${m}\n`));
      process.stderr.write(`• worker polling "${config.temporal.taskQueue}" on ${controller.temporal.address}; Ctrl-C stops it\n`);
      await untilInterrupted();
      await controller.stop();
    });
}
