import { Command, CommanderError } from 'commander';
import { registerCheck } from './cli/check';
import { registerCodecServer } from './cli/codec-server';
import { registerController } from './cli/controller';
import { registerDeploy } from './cli/deploy';
import { registerEmail } from './cli/email';
import { CliError } from './cli/context';
import { registerDb } from './cli/db';
import { registerHeal } from './cli/heal';
import { registerLinks } from './cli/links';
import { registerLogin } from './cli/login';
import { registerLogs } from './cli/logs';
import { registerMigrate } from './cli/migrate';
import { registerSandbox } from './cli/sandbox';
import { registerStatus } from './cli/status';
import { registerTeardown } from './cli/teardown';
import { registerUpgrade } from './cli/upgrade';
import { registerWorker } from './cli/worker';
import { ConfigError } from './shared/errors';

/** The `trigger-ops` command line: one command per file under src/cli, all talking to Temporal. */
export function buildProgram(): Command {
  const program = new Command('trigger-ops')
    .description('Deploy, heal, upgrade, migrate and tear down a Trigger.dev v4 supervisor on DigitalOcean')
    .exitOverride();
  registerDeploy(program);
  registerStatus(program);
  registerTeardown(program);
  registerUpgrade(program);
  registerMigrate(program);
  registerHeal(program);
  registerLogs(program);
  registerLogin(program);
  registerLinks(program);
  registerEmail(program);
  registerDb(program);
  registerSandbox(program);
  registerController(program);
  registerWorker(program);
  registerCheck(program);
  registerCodecServer(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      process.stderr.write(`✗ ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`✗ Configuration: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
