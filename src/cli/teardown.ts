import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { workflowIds } from '../shared/ids';
import { teardown, teardownProgressQuery, type TeardownResult } from '../workflows';
import { CliError, installationCommand, parseInstallation, printResult, withClient } from './context';
import { followWorkflow } from './watch';

interface TeardownFlags {
  installation: string;
  yes?: boolean;
  json?: boolean;
  keepSecrets?: boolean;
}

export function registerTeardown(program: Command): void {
  installationCommand(program, 'teardown', "delete an installation's droplets, firewall and SSH key (the Railway webapp is left as it is)")
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--keep-secrets', "keep the installation's SSH keys and worker token in the secret store")
    .action(async (flags: TeardownFlags) => {
      const installationId = parseInstallation(flags.installation);
      if (!flags.yes) await confirm(installationId);
      await withClient(async (client, config) => {
        const handle = await client.workflow.start(teardown, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.teardown(installationId),
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ installationId, forgetSecrets: !flags.keepSecrets }],
        });
        const outcome = await followWorkflow<TeardownResult>(handle, teardownProgressQuery, {
          print: (line) => process.stderr.write(`${line}\n`),
          cancelHint: 'Teardown is idempotent: run it again to finish.',
        });
        if (outcome.detached) return;
        const r = outcome.result;
        printResult(
          flags,
          r,
          () =>
            `Torn down "${r.installationId}": ${r.dropletsDeleted} droplet(s), firewall ${r.firewallDeleted ? 'deleted' : 'absent'}, SSH key ${r.sshKeyDeleted ? 'deleted' : 'absent'}, tag ${r.tagDeleted ? 'deleted' : 'absent'}.\n` +
            (r.dropletsKept.length > 0 ? `Left alone (tagged, but not named by trigger-ops; now untagged): ${r.dropletsKept.join(', ')}.\n` : ''),
        );
      });
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
