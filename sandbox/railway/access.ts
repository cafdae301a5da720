import { GraphQLError } from 'graphql';
import type { DeploymentRecord, EnvironmentRecord, ProjectRecord, ProjectTokenRecord, ServiceRecord } from './model';
import type { RailwayStore } from './store';

/** Who is calling, from the request headers (reference §2). */
export type Caller =
  | { readonly kind: 'account' }
  | { readonly kind: 'project'; readonly token: ProjectTokenRecord }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'unknown-project-token' };

export interface RequestContext {
  readonly store: RailwayStore;
  readonly caller: Caller;
}

/** Railway renders a bad token and a missing permission the same way. */
export const notAuthorized = (): GraphQLError => new GraphQLError('Not Authorized');

export function identify(
  store: RailwayStore,
  accountTokens: ReadonlySet<string>,
  headers: { readonly authorization?: string | undefined; readonly projectAccessToken?: string | undefined },
): Caller {
  if (headers.projectAccessToken !== undefined) {
    const token = store.projectTokens.get(headers.projectAccessToken.trim());
    return token ? { kind: 'project', token } : { kind: 'unknown-project-token' };
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
  return bearer !== undefined && accountTokens.has(bearer) ? { kind: 'account' } : { kind: 'anonymous' };
}

function assertAuthenticated(ctx: RequestContext): void {
  if (ctx.caller.kind === 'unknown-project-token') throw new GraphQLError('Project Token not found');
  if (ctx.caller.kind === 'anonymous') throw notAuthorized();
}

export function requireAccount(ctx: RequestContext): void {
  assertAuthenticated(ctx);
  if (ctx.caller.kind !== 'account') throw notAuthorized();
}

export function requireProjectToken(ctx: RequestContext): ProjectTokenRecord {
  assertAuthenticated(ctx);
  if (ctx.caller.kind !== 'project') throw notAuthorized();
  return ctx.caller.token;
}

export function requireProject(ctx: RequestContext, projectId: string): ProjectRecord {
  assertAuthenticated(ctx);
  const project = ctx.store.projects.get(projectId);
  if (ctx.caller.kind === 'project' && ctx.caller.token.projectId !== projectId) throw notAuthorized();
  if (!project) throw new GraphQLError('Project not found');
  return project;
}

/** A project token reaches one environment of one project; an account token reaches everything. */
export function requireEnvironment(ctx: RequestContext, environmentId: string, projectId?: string): EnvironmentRecord {
  assertAuthenticated(ctx);
  const env = ctx.store.environments.get(environmentId);
  if (ctx.caller.kind === 'project' && ctx.caller.token.environmentId !== environmentId) throw notAuthorized();
  if (!env || (projectId !== undefined && env.projectId !== projectId)) throw new GraphQLError('Environment not found');
  return env;
}

export function canAccessEnvironment(ctx: RequestContext, environmentId: string): boolean {
  return ctx.caller.kind === 'account' || (ctx.caller.kind === 'project' && ctx.caller.token.environmentId === environmentId);
}

export function requireService(ctx: RequestContext, serviceId: string, projectId?: string): ServiceRecord {
  assertAuthenticated(ctx);
  const service = ctx.store.services.get(serviceId);
  if (service && ctx.caller.kind === 'project' && ctx.caller.token.projectId !== service.projectId) throw notAuthorized();
  if (!service || (projectId !== undefined && service.projectId !== projectId)) throw new GraphQLError('Service not found');
  return service;
}

export function requireDeployment(ctx: RequestContext, deploymentId: string): DeploymentRecord {
  assertAuthenticated(ctx);
  const deployment = ctx.store.deployments.get(deploymentId);
  if (deployment && ctx.caller.kind === 'project' && ctx.caller.token.environmentId !== deployment.environmentId) {
    throw notAuthorized();
  }
  if (!deployment) throw new GraphQLError('Deployment not found');
  return deployment;
}
