import { GraphQLError } from 'graphql';
import {
  requireAccount,
  requireDeployment,
  requireEnvironment,
  requireProject,
  requireProjectToken,
  requireService,
  type RequestContext,
} from './access';
import { matchesLogFilter } from './log-filter';
import type { DeploymentStatus } from './model';
import {
  connection,
  deploymentView,
  domainsView,
  environmentView,
  logView,
  pageArgs,
  projectTokenView,
  projectView,
  serviceInstanceView,
  serviceView,
  tcpProxiesView,
} from './views';

type Args = Readonly<Record<string, unknown>>;
export type RootResolver = (args: Args, ctx: RequestContext) => unknown;

// Arguments were validated against the schema before execution, so these only narrow `unknown`.
const str = (args: Args, key: string): string => String(args[key]);
const optStr = (args: Args, key: string): string | undefined => (typeof args[key] === 'string' ? args[key] : undefined);
const input = (args: Args): Args => (args['input'] ?? {}) as Args;

function variablesArg(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphQLError('Variables must be an object of names to string values');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new GraphQLError(`Variable ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

/** Checks the (project, environment, service?) triple of a variables call and returns the service id. */
function variableTarget(ctx: RequestContext, a: Args): { environmentId: string; serviceId: string | undefined } {
  const projectId = str(a, 'projectId');
  requireProject(ctx, projectId);
  const environmentId = str(a, 'environmentId');
  requireEnvironment(ctx, environmentId, projectId);
  const serviceId = optStr(a, 'serviceId');
  if (serviceId !== undefined) requireService(ctx, serviceId, projectId);
  return { environmentId, serviceId };
}

function instanceOf(ctx: RequestContext, environmentId: string, serviceId: string) {
  const env = requireEnvironment(ctx, environmentId);
  requireService(ctx, serviceId, env.projectId);
  const instance = ctx.store.instance(environmentId, serviceId);
  if (!instance) throw new GraphQLError('ServiceInstance not found');
  return instance;
}

export const queryResolvers: Record<string, RootResolver> = {
  me: (_args, ctx) => {
    requireAccount(ctx);
    const created = new Date(Date.UTC(2025, 0, 1)).toISOString();
    return {
      __typename: 'User',
      id: 'a4b7e1c2-0000-4000-8000-000000000001',
      email: 'sandbox@trigger-ops.invalid',
      name: 'Sandbox User',
      username: 'sandbox',
      avatar: null,
      createdAt: created,
      lastLogin: new Date().toISOString(),
      agreedFairUse: true,
      has2FA: false,
      hasPasskeys: false,
      isAdmin: false,
      isConductor: false,
      isVerified: true,
      featureFlags: [],
      flags: [],
      platformFeatureFlags: [],
      registrationStatus: 'ONBOARDED',
      workspaces: [],
    };
  },
  projectToken: (_args, ctx) => projectTokenView(ctx, requireProjectToken(ctx)),
  project: (args, ctx) => projectView(ctx, requireProject(ctx, str(args, 'id'))),
  environment: (args, ctx) => environmentView(ctx, requireEnvironment(ctx, str(args, 'id'), optStr(args, 'projectId'))),
  service: (args, ctx) => serviceView(ctx, requireService(ctx, str(args, 'id'))),
  serviceInstance: (args, ctx) =>
    serviceInstanceView(ctx, instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId'))),
  variables: (args, ctx) => {
    const { environmentId, serviceId } = variableTarget(ctx, args);
    return args['unrendered'] === true
      ? ctx.store.rawVariables(environmentId, serviceId)
      : ctx.store.renderedVariables(environmentId, serviceId);
  },
  deployments: (args, ctx) => {
    const filter = input(args);
    const projectId = optStr(filter, 'projectId');
    let environmentId = optStr(filter, 'environmentId');
    const serviceId = optStr(filter, 'serviceId');
    if (projectId !== undefined) requireProject(ctx, projectId);
    if (environmentId !== undefined) requireEnvironment(ctx, environmentId);
    if (serviceId !== undefined) requireService(ctx, serviceId);
    if (environmentId === undefined && projectId === undefined && serviceId === undefined) requireAccount(ctx);
    if (environmentId === undefined && ctx.caller.kind === 'project') environmentId = ctx.caller.token.environmentId;
    const status = (filter['status'] ?? {}) as { in?: DeploymentStatus[] | null; notIn?: DeploymentStatus[] | null };
    const list = ctx.store
      .deploymentsOf(environmentId, serviceId, projectId)
      .filter((d) => !status.in || status.in.includes(d.status))
      .filter((d) => !status.notIn || !status.notIn.includes(d.status));
    return connection(list, pageArgs(args), (d) => deploymentView(ctx, d));
  },
  deployment: (args, ctx) => deploymentView(ctx, requireDeployment(ctx, str(args, 'id'))),
  deploymentLogs: (args, ctx) => {
    const d = requireDeployment(ctx, str(args, 'deploymentId'));
    const from = optStr(args, 'startDate');
    const to = optStr(args, 'endDate');
    const filter = optStr(args, 'filter');
    let logs = d.logs.filter(
      (l) =>
        (from === undefined || l.timestamp >= new Date(from).toISOString()) &&
        (to === undefined || l.timestamp <= new Date(to).toISOString()) &&
        matchesLogFilter(l, filter),
    );
    const limit = args['limit'];
    if (typeof limit === 'number' && limit >= 0) logs = logs.slice(Math.max(0, logs.length - limit));
    return logs.map((l) => logView(d, l));
  },
  domains: (args, ctx) => {
    requireProject(ctx, str(args, 'projectId'));
    return domainsView(ctx, instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId')));
  },
  tcpProxies: (args, ctx) => tcpProxiesView(instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId'))),
};

export const mutationResolvers: Record<string, RootResolver> = {
  variableUpsert: (args, ctx) => {
    const i = input(args);
    const { environmentId, serviceId } = variableTarget(ctx, i);
    ctx.store.upsertVariables(environmentId, serviceId, { [str(i, 'name')]: str(i, 'value') }, {
      skipDeploys: i['skipDeploys'] === true,
    });
    return true;
  },
  variableCollectionUpsert: (args, ctx) => {
    const i = input(args);
    const { environmentId, serviceId } = variableTarget(ctx, i);
    ctx.store.upsertVariables(environmentId, serviceId, variablesArg(i['variables']), {
      replace: i['replace'] === true,
      skipDeploys: i['skipDeploys'] === true,
    });
    return true;
  },
  variableDelete: (args, ctx) => {
    const i = input(args);
    const { environmentId, serviceId } = variableTarget(ctx, i);
    ctx.store.deleteVariable(environmentId, serviceId, str(i, 'name'));
    return true;
  },
  deploymentRedeploy: (args, ctx) => {
    const d = requireDeployment(ctx, str(args, 'id'));
    if (!deploymentView(ctx, d).canRedeploy) throw new GraphQLError('Deployment cannot be redeployed');
    return deploymentView(ctx, ctx.store.deploy(d.environmentId, d.serviceId, 'redeploy'));
  },
  deploymentRestart: (args, ctx) => {
    const d = requireDeployment(ctx, str(args, 'id'));
    if (d.status !== 'SUCCESS') throw new GraphQLError('Deployment is not running');
    ctx.store.restart(d);
    return true;
  },
  serviceInstanceRedeploy: (args, ctx) => {
    const i = instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId'));
    ctx.store.deploy(i.environmentId, i.serviceId, 'redeploy');
    return true;
  },
  serviceInstanceDeployV2: (args, ctx) => {
    const i = instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId'));
    // Sandbox services deploy images, so there is no commit to find.
    if (optStr(args, 'commitSha') !== undefined) throw new GraphQLError('Commit not found');
    return ctx.store.deploy(i.environmentId, i.serviceId, 'deploy').id;
  },
  serviceInstanceUpdate: (args, ctx) => {
    const serviceId = str(args, 'serviceId');
    const service = requireService(ctx, serviceId);
    const envId = optStr(args, 'environmentId');
    const envIds =
      envId !== undefined
        ? [envId]
        : ctx.caller.kind === 'project'
          ? [ctx.caller.token.environmentId]
          : ctx.store.environmentsOf(service.projectId).map((e) => e.id);
    const i = input(args);
    const source = i['source'] as { image?: string | null } | null | undefined;
    for (const id of envIds) {
      const instance = instanceOf(ctx, id, serviceId);
      if (source?.image) instance.image = source.image;
      if (typeof i['startCommand'] === 'string') instance.startCommand = i['startCommand'];
      if (typeof i['healthcheckPath'] === 'string') instance.healthcheckPath = i['healthcheckPath'];
      if (typeof i['numReplicas'] === 'number') instance.numReplicas = i['numReplicas'];
      if (typeof i['region'] === 'string') instance.region = i['region'];
      instance.updatedAt = new Date();
    }
    return true;
  },
};
