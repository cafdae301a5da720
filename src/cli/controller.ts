import type { Command } from 'commander';
import { startControllerService } from '../controller/service';
import { untilInterrupted } from '../controller/signals';
import { cliConfig } from './context';

export function registerController(program: Command): void {
  program
    .command('controller')
    .description('the long-running controller (what the Railway service runs): Temporal, a worker, HTTP on $PORT and the reconciler that deploys, upgrades and migrates the installation to match its environment')
    .action(async () => {
      const config = cliConfig();
      const log = (m: string) => process.stdout.write(`• ${m}\n`);
      const service = await startControllerService(config, { defaultInstallation: 'default', log });
      await untilInterrupted();
      log('stopping: running activities get up to 30 s to finish; what is left resumes on the next boot');
      await service.stop();
    });
}
