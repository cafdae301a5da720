import { log } from '@temporalio/workflow';
import { databaseMigrateInputSchema, type DatabaseMigrateInput, type DatabaseMigrateResult } from '../shared/database';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/**
 * `trigger-ops db migrate [--plan]`: applies to the installation's webapp database the migrations of the Trigger.dev
 * chain it ships that the database has not recorded (or, with `plan`, reports them). The database is named by its
 * Railway project and environment only; the activity reads its URL from Railway at the point of use. Prisma's
 * advisory lock, taken by the applier, keeps it from racing a booting webapp or a second run.
 */
export async function databaseMigrate(input: DatabaseMigrateInput): Promise<DatabaseMigrateResult> {
  const spec = parseInput(databaseMigrateInputSchema, input, 'databaseMigrate');
  const target = await acts.resolveRailwayTarget(spec.railway);
  const ref = { ...target, version: spec.version };
  if (spec.plan) return { kind: 'plan', plan: await acts.planDatabaseMigrations(ref) };
  const applied = await acts.applyDatabaseMigrations(ref);
  log.info('database migrations applied', { installationId: spec.installationId, version: applied.version, applied: applied.applied });
  return { kind: 'applied', applied };
}
