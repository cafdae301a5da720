import { ConfigError } from '../../shared/errors';
import { createRailwayApi, type RailwayApi } from './api';
import { createRailwayGraphqlClient, type RailwayAuth } from './client';

export { createRailwayApi, DEPLOYMENT_STATUSES } from './api';
export type {
  DeploymentListQuery,
  RailwayApi,
  RailwayDeployment,
  RailwayDeploymentStatus,
  RailwayEnvironment,
  RailwayLogLine,
  RailwayProject,
  RailwayServiceInstance,
  RailwayVariableTarget,
} from './api';
export { createRailwayGraphqlClient } from './client';
export type { RailwayAuth, RailwayClientOptions, RailwayGraphqlClient } from './client';
export { classifyGraphqlErrors, RailwayApiError, toRailwayFailure } from './errors';

/** The Railway part of the controller's config (src/config). */
export interface RailwayConnection {
  readonly apiUrl: string;
  readonly apiToken: string | undefined;
  readonly projectToken: string | undefined;
}

/** Which token to send: the project token (`RAILWAY_TOKEN`) or the account/workspace token (`RAILWAY_API_TOKEN`). */
export function railwayAuthFrom(connection: RailwayConnection): RailwayAuth {
  if (connection.apiToken && connection.projectToken) {
    throw new ConfigError('Set only one of RAILWAY_API_TOKEN (account or workspace token) and RAILWAY_TOKEN (project token).');
  }
  if (connection.projectToken) return { kind: 'project', token: connection.projectToken };
  if (connection.apiToken) return { kind: 'account', token: connection.apiToken };
  throw new ConfigError('No Railway credentials: set RAILWAY_API_TOKEN (account or workspace token) or RAILWAY_TOKEN (project token).');
}

/** A RailwayApi over HTTP for the configured endpoint and token. */
export function createRailwayApiFromConfig(connection: RailwayConnection, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): RailwayApi {
  return createRailwayApi(
    createRailwayGraphqlClient({
      url: connection.apiUrl,
      auth: railwayAuthFrom(connection),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
      ...(options.fetch !== undefined && { fetch: options.fetch }),
    }),
  );
}
