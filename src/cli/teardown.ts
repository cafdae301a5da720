import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { installationIdSchema, workflowIds } from '../shared/ids';
import { teardown, teardownProgressQuery, type TeardownResult } from '../workflows';
import { CliError, cliClient, cliConfig, failureMessage } from './context';
import { followWorkflow } from './watch';

interface TeardownFlags {
  installation: string;
  yes?: boolean;
  json?: boolean;
  keepSecrets?: boolean;
}

export function registerTeardown(program: Command): void {
  program
    .command('teardown')
    .description("delete an installation's droplets, firewall and SSH key (the Railway webapp is left as it is)")
    .option('-i, --installation <id>', 'installation id', 'default')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--keep-secrets', "keep the installation's SSH keys and worker token in the secret store")
    .option('--json', 'print the result as JSON')
    .action(async (flags: TeardownFlags) => {
      const id = installationIdSchema.safeParse(flags.installation);
      if (!id.success) throw new CliError(`Invalid --installation "${flags.installation}": ${id.error.issues[0]?.message ?? 'invalid'}`, 2);
      if (!flags.yes) await confirm(id.data);
      const config = cliConfig();
      const client = await cliClient(config);
      const workflowId = workflowIds.teardown(id.data);
      try {
        const handle = await client.workflow.start(teardown, {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ installationId: id.data, forgetSecrets: !flags.keepSecrets }],
        });
        const outcome = await followWorkflow<TeardownResult>(handle, teardownProgressQuery, {
          print: (line) => process.stderr.write(`${line}\n`),
          cancelHint: 'Teardown is idempotent: run it again to finish.',
        });
        if (outcome.detached) return;
        const r = outcome.result;
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(r)}\n`
            : `Torn down "${r.installationId}": ${r.dropletsDeleted} droplet(s), firewall ${r.firewallDeleted ? 'deleted' : 'absent'}, SSH key ${r.sshKeyDeleted ? 'deleted' : 'absent'}.\n`,
        );
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new CliError(failureMessage(err), 5);
        throw err;
      } finally {
        await client.connection.close();
      }
    });
}

async function confirm(installationId: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new CliError('Refusing to tear down without confirmation: pass --yes when not running in a terminal.', 2);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Delete every DigitalOcean resource of installation "${installationId}"? Type its id to confirm: `);
    if (answer.trim() !== installationId) throw new CliError('Not confirmed; nothing was changed.', 1);
  } finally {
    rl.close();
  }
}
