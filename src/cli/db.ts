import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { databaseMigrateInputSchema, type DatabaseApplied, type DatabasePlan } from '../shared/database';
import { workflowIds } from '../shared/ids';
import { databaseMigrate } from '../workflows';
import { CliError, installationCommand, printResult, withClient } from './context';

function planText(p: DatabasePlan): string {
  const lines = [
    `Database of "${p.postgresService}" (reached ${p.route === 'private' ? 'over the private network' : 'through its TCP proxy'}), Trigger.dev ${p.version} chain of ${p.chainCount} migrations:`,
    `  _prisma_migrations ${p.table === 'absent' ? 'absent (it would be created as Prisma creates it)' : `records ${p.appliedCount} of them`}`,
    `  ${p.pendingCount} to apply${p.pendingCount > 0 ? `: ${p.pending.join(', ')}${p.pendingCount > p.pending.length ? ', …' : ''}` : ''}`,
  ];
  if (p.interrupted.length > 0) lines.push(`  left unfinished by a Prisma run that was cut off, to be resumed: ${p.interrupted.join(', ')}`);
  if (p.modified.length > 0) lines.push(`  applied but changed since (prisma migrate status reports them): ${p.modified.join(', ')}`);
  if (!p.refusal) lines.push(p.pendingCount > 0 ? 'Run `trigger-ops db migrate` (without --plan) to apply them.' : 'Nothing to do.');
  return `${lines.join('\n')}\n`;
}

function appliedText(a: DatabaseApplied): string {
  if (a.applied === 0) return `Database of "${a.postgresService}" already has every migration of the ${a.version} chain (${a.alreadyApplied}): nothing applied.\n`;
  return (
    `Applied ${a.applied} migration(s) of the Trigger.dev ${a.version} chain to "${a.postgresService}" in ${(a.durationMs / 1000).toFixed(1)} s ` +
    `(${a.roundTrips} round trips, ${a.route} route): ${a.firstApplied} … ${a.lastApplied}; ${a.alreadyApplied} were already applied.\n`
  );
}

/** The flag each input field comes from, for messages. */
const FLAGS: Record<string, string> = { installationId: '--installation', version: '--version', railway: '--project/--environment' };

/** `trigger-ops db migrate [--plan]`: the webapp database's migration chain, as the `databaseMigrate` workflow. */
export function registerDb(program: Command): void {
  const db = program.command('db').description("the webapp's PostgreSQL database");
  installationCommand(db, 'migrate', "apply the Trigger.dev migration chain the webapp's database lacks, recorded as Prisma records it")
    .option('--plan', 'show what would be applied; change nothing')
    .option('--version <tag>', 'the chain to apply (default: the version of the webapp image)')
    .option('--project <id>', 'Railway project id (default RAILWAY_PROJECT_ID)')
    .option('--environment <id>', 'Railway environment id (default RAILWAY_ENVIRONMENT_ID)')
    .action(async (flags: { installation: string; plan?: boolean; version?: string; project?: string; environment?: string; json?: boolean }) => {
      const parsed = databaseMigrateInputSchema.safeParse({
        installationId: flags.installation,
        plan: Boolean(flags.plan),
        ...(flags.version ? { version: flags.version } : {}),
        railway: { ...(flags.project ? { projectId: flags.project } : {}), ...(flags.environment ? { environmentId: flags.environment } : {}) },
      });
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${FLAGS[String(i.path[0])] ?? String(i.path[0])} ${i.message}`);
        throw new CliError(`Invalid db migrate options: ${problems.join('; ')}`, 2);
      }
      const input = parsed.data;
      const result = await withClient(async (client, config) => {
        try {
          return await client.workflow.execute(databaseMigrate, {
            taskQueue: config.temporal.taskQueue,
            ...(input.plan
              ? { workflowId: workflowIds.databasePlan(input.installationId), workflowIdConflictPolicy: 'TERMINATE_EXISTING' as const }
              : { workflowId: workflowIds.databaseMigrate(input.installationId) }),
            args: [input],
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            throw new CliError(`A db migrate of "${input.installationId}" is already running (workflow ${workflowIds.databaseMigrate(input.installationId)}): wait for it.`, 4);
          }
          throw err;
        }
      });
      printResult(flags, result, () => (result.kind === 'plan' ? planText(result.plan) : appliedText(result.applied)));
      if (result.kind === 'plan' && result.plan.refusal) throw new CliError(`Refused: ${result.plan.refusal}`, 4);
    });
}
