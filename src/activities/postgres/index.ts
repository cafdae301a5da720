import { ApplicationFailure } from '@temporalio/activity';
import type { DatabaseApplied, DatabasePlan, DatabaseRef, DatabaseRoute } from '../../shared/database';
import { ErrorType } from '../../shared/errors';
import { BOUNDS } from '../../shared/activity-contract';
import { progress } from '../heartbeat';
import type { RailwayApi } from '../railway/api';
import { findWebappService, SERVICE_KINDS } from '../railway/services';
import { applyMigrationChain, MigrationFailedError, MigrationHistoryConflictError, planConflict, planMigrationChain } from './applier';
import { loadMigrationChain, vendoredChainVersions, VENDORED_CHAINS_DIR } from './chain';

export { applyMigrationChain, planMigrationChain, MigrationFailedError, MigrationHistoryConflictError } from './applier';
export { loadMigrationChain, vendoredChainVersions } from './chain';

export interface PostgresStepDeps {
  readonly railway: RailwayApi;
  /** Where the controller itself runs on Railway (RAILWAY_PRIVATE_DOMAIN and its project and environment), if it does. */
  readonly controllerOnRailway: { readonly projectId: string | undefined; readonly environmentId: string | undefined; readonly privateDomain: string | undefined };
  readonly chainsDir?: string;
}

/**
 * The webapp's PostgreSQL, reached at the point of use: the Postgres service's URL comes from Railway's variables
 * (DATABASE_URL over the private network when the controller runs in the same project and environment, else
 * DATABASE_PUBLIC_URL through the TCP proxy) and never leaves the activity.
 */
export function createPostgresActivities(deps: PostgresStepDeps) {
  const chainsDir = deps.chainsDir ?? VENDORED_CHAINS_DIR;

  const locate = async (ref: DatabaseRef) => {
    const environment = await deps.railway.getEnvironment(ref.environmentId, ref.projectId);
    const postgres = environment.serviceInstances.find(SERVICE_KINDS.postgres);
    if (!postgres) {
      throw ApplicationFailure.nonRetryable(`Railway environment "${environment.name}" has no Postgres service (found: ${environment.serviceInstances.map((s) => s.serviceName).join(', ') || 'none'})`, ErrorType.NotFound);
    }
    let version = ref.version;
    if (!version) {
      const webapp = findWebappService(environment.serviceInstances);
      version = /:(v\d+\.\d+\.\d+)$/.exec(webapp?.image ?? '')?.[1];
      if (!version) {
        throw ApplicationFailure.nonRetryable(`version: the webapp runs "${webapp?.image ?? 'no image'}", not a release tag; give the chain's version (vendored: ${vendoredChainVersions(chainsDir).join(', ')})`, ErrorType.InvalidInput);
      }
    }
    let chain;
    try {
      chain = loadMigrationChain(version, chainsDir);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), ErrorType.InvalidInput);
    }
    const here = deps.controllerOnRailway;
    const route: DatabaseRoute = here.privateDomain && here.projectId === ref.projectId && here.environmentId === ref.environmentId ? 'private' : 'public';
    const name = route === 'private' ? 'DATABASE_URL' : 'DATABASE_PUBLIC_URL';
    const vars = await deps.railway.getVariables({ projectId: ref.projectId, environmentId: ref.environmentId, serviceId: postgres.serviceId });
    const url = vars[name];
    if (!url || !/^postgres(ql)?:\/\//.test(url)) {
      const hint = route === 'public' ? ' (enable the Postgres service\'s TCP proxy on Railway, or run the controller inside the project)' : '';
      throw ApplicationFailure.nonRetryable(`the Postgres service "${postgres.serviceName}" has no usable ${name}${hint}`, ErrorType.NotFound);
    }
    return { chain, route, postgresService: postgres.serviceName, target: { connectionString: url, lockTimeoutMs: BOUNDS.migrationLockWaitMs, connectTimeoutMs: BOUNDS.postgresConnectMs } };
  };

  return {
    /** What `db migrate` would apply; reads only. */
    async planDatabaseMigrations(input: DatabaseRef): Promise<DatabasePlan> {
      const { chain, route, postgresService, target } = await locate(input);
      const plan = await planMigrationChain(target, chain).catch((err: unknown) => {
        throw toPostgresFailure(err);
      });
      return {
        version: plan.version,
        postgresService,
        route,
        table: plan.table,
        chainCount: plan.chainCount,
        appliedCount: plan.appliedCount,
        pendingCount: plan.pending.length,
        pending: plan.pending.slice(0, 20),
        unknown: plan.unknown,
        failed: plan.failed,
        interrupted: plan.interrupted.map((i) => i.name),
        modified: plan.modified,
        foreignTables: plan.foreignTables,
        refusal: planConflict(plan),
      };
    },

    /** Applies what the database has not recorded of the chain, under Prisma's lock (applier.ts). */
    async applyDatabaseMigrations(input: DatabaseRef): Promise<DatabaseApplied> {
      const { chain, route, postgresService, target } = await locate(input);
      try {
        const r = await applyMigrationChain(target, chain, { onProgress: (applied, pending) => progress({ applied, pending }) });
        return {
          version: r.version,
          postgresService,
          route,
          applied: r.applied,
          alreadyApplied: r.alreadyApplied,
          resumed: [...r.resumed],
          firstApplied: r.firstApplied ?? null,
          lastApplied: r.lastApplied ?? null,
          roundTrips: r.roundTrips,
          durationMs: r.durationMs,
        };
      } catch (err) {
        if (err instanceof MigrationFailedError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.SchemaMigrationFailed);
        if (err instanceof MigrationHistoryConflictError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.DatabaseConflict);
        throw toPostgresFailure(err);
      }
    },
  };
}

/** A connection-level PostgreSQL error: wrong credentials or database are final, the rest (network) is retried. */
function toPostgresFailure(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === '28P01' || code === '28000') return ApplicationFailure.nonRetryable(`PostgreSQL refused the credentials from Railway's variables: ${message}`, ErrorType.AuthError);
  if (code === '3D000') return ApplicationFailure.nonRetryable(`PostgreSQL: ${message}`, ErrorType.NotFound);
  if (err instanceof MigrationHistoryConflictError) return ApplicationFailure.nonRetryable(err.message, ErrorType.DatabaseConflict);
  return err;
}
