import Table from 'cli-table3';
import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { deployInputSchema, type DeployInput, type DeployResult } from '../shared/deploy';
import { workflowIds } from '../shared/ids';
import { describeZodError } from '../shared/validation';
import type { DeployPlan } from '../shared/plan';
import { deploy, deployPlan, deployProgressQuery } from '../workflows';
import { CliError, installationCommand, printResult, withClient } from './context';
import { followWorkflow } from './watch';

interface DeployFlags {
  installation: string;
  region?: string;
  size?: string;
  image?: string;
  version?: string;
  sshCidr?: string[];
  project?: string;
  environment?: string;
  json?: boolean;
  detach?: boolean;
  plan?: boolean;
}

export function registerDeploy(program: Command): void {
  installationCommand(program, 'deploy', 'deploy the supervisor of an installation to a DigitalOcean droplet')
    .option('--region <slug>', 'DigitalOcean region (default nyc3)')
    .option('--size <slug>', 'droplet size (default s-2vcpu-4gb)')
    .option('--image <slug>', 'droplet image (default docker-20-04)')
    .option('--version <tag>', 'supervisor version, e.g. v4.5.12 (default: the webapp\'s version)')
    .option('--ssh-cidr <cidr...>', 'CIDRs allowed to reach SSH (default anywhere; key-only auth)')
    .option('--project <id>', 'Railway project id (default RAILWAY_PROJECT_ID)')
    .option('--environment <id>', 'Railway environment id (default RAILWAY_ENVIRONMENT_ID)')
    .option('--detach', 'start the deploy and return at once')
    .option('--plan', 'print what would be created or changed, with the monthly price, and change nothing')
    .action(async (flags: DeployFlags) => {
      const input = deployInputFromFlags(flags);
      const workflowId = workflowIds.deploy(input.installationId);
      const print = (line: string) => process.stderr.write(`${line}\n`);
      await withClient(async (client, config) => {
        if (flags.plan) {
          const plan = await client.workflow.execute(deployPlan, {
            taskQueue: config.temporal.taskQueue,
            workflowId: workflowIds.plan(input.installationId),
            workflowIdConflictPolicy: 'TERMINATE_EXISTING',
            args: [input],
          });
          printResult(flags, plan, () => formatPlan(plan));
          return;
        }
        const handle = await client.workflow
          .start(deploy, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] })
          .catch((err: unknown) => {
            if (err instanceof WorkflowExecutionAlreadyStartedError) {
              throw new CliError(`A deploy of "${input.installationId}" is already running (workflow ${workflowId}). Follow it in the Temporal UI or cancel it with: temporal workflow cancel --workflow-id ${workflowId}`, 4);
            }
            throw err;
          });
        print(`Deploying installation "${input.installationId}" (workflow ${workflowId})`);
        if (flags.detach) return;
        const outcome = await followWorkflow<DeployResult>(handle, deployProgressQuery, {
          print,
          cancelHint: `Cancel (and roll back) with: temporal workflow cancel --workflow-id ${workflowId}`,
        });
        if (outcome.detached) return;
        printResult(flags, outcome.result, () => formatDeploySummary(outcome.result));
      });
    });
}

export function formatPlan(plan: DeployPlan): string {
  const table = new Table({ head: ['', 'system', 'what'], style: { head: [], border: [] }, wordWrap: true, colWidths: [10, 14, 80] });
  for (const item of plan.items) table.push([item.action, item.system, item.what]);
  return (
    `Plan for "${plan.installationId}" (supervisor ${plan.supervisorVersion}); nothing was changed:\n${table.toString()}\n` +
    `Cost: $${plan.monthlyPriceUsd.toFixed(2)}/month ($${plan.hourlyPriceUsd.toFixed(5)}/hour) for the droplet.\n`
  );
}

/** The few lines a person wants after a deploy: where it runs, what it costs, what changed on Railway. */
export function formatDeploySummary(r: DeployResult): string {
  return (
    [
      `Deployed "${r.installationId}": supervisor ${r.supervisorVersion} is connected and healthy.`,
      `  droplet   ${r.droplet.name} (id ${r.droplet.id}) at ${r.droplet.ipv4}`,
      `  placement ${r.region}, ${r.size}, ${r.image} — $${r.monthlyPriceUsd.toFixed(2)}/month`,
      `  firewall  ${r.firewallId} (inbound SSH only)`,
      `  config    ${r.configHash.slice(0, 12)}`,
      ...(r.generatedSecrets.length > 0 ? [`  railway   generated missing webapp secrets: ${r.generatedSecrets.join(', ')}`] : []),
    ].join('\n') + '\n'
  );
}

export function deployInputFromFlags(flags: DeployFlags): DeployInput {
  const candidate: Record<string, unknown> = {
    installationId: flags.installation,
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.size ? { size: flags.size } : {}),
    ...(flags.image ? { image: flags.image } : {}),
    ...(flags.version ? { supervisorVersion: flags.version } : {}),
    ...(flags.sshCidr ? { sshSourceCidrs: flags.sshCidr } : {}),
    railway: {
      ...(flags.project ? { projectId: flags.project } : {}),
      ...(flags.environment ? { environmentId: flags.environment } : {}),
    },
  };
  const parsed = deployInputSchema.safeParse(candidate);
  if (!parsed.success) throw new CliError(`Invalid deploy options: ${describeZodError(parsed.error, 'deploy')}`, 2);
  return candidate as DeployInput;
}
