import type { Command } from 'commander';
import { startController } from '../local/controller';
import { cliConfig } from './context';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the trigger-ops worker (starts the embedded Temporal server when TEMPORAL_ADDRESS is unset)')
    .action(async () => {
      const config = cliConfig();
      const controller = await startController(config, (m) => process.stderr.write(`• ${m}\n`));
      process.stderr.write(`• worker polling "${config.temporal.taskQueue}" on ${controller.temporal.address}; Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await controller.stop();
    });
}
