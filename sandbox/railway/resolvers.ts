import { randomBytes, randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
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
import type { DeploymentStatus, ServiceInstanceRecord } from './model';
import { notModeled } from './not-modeled';
import {
  connection,
  deploymentView,
  domainsView,
  environmentView,
  logView,
  pageArgs,
  projectTokenView,
  projectView,
  serviceDomainView,
  serviceInstanceView,
  serviceView,
  tcpProxiesView,
  workspaceView,
} from './views';

type Args = Readonly<Record<string, unknown>>;
export type RootResolver = (args: Args, ctx: RequestContext, info: GraphQLResolveInfo) => unknown;

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
      workspaces: workspaceIds(ctx).map((id) => workspaceView(ctx, id)),
    };
  },
  // The account owns every workspace it sees, so none is external (a workspace reached through a project invite).
  externalWorkspaces: (_args, ctx) => {
    requireAccount(ctx);
    return [];
  },
  projects: (args, ctx) => {
    requireAccount(ctx);
    const workspaceId = optStr(args, 'workspaceId');
    const list = [...ctx.store.projects.values()].filter((p) => workspaceId === undefined || p.workspaceId === workspaceId);
    return connection(list, pageArgs(args), (p) => projectView(ctx, p));
  },
  environments: (args, ctx) => {
    const project = requireProject(ctx, str(args, 'projectId'));
    // The sandbox creates no ephemeral (PR) environments.
    const list = args['isEphemeral'] === true ? [] : ctx.store.environmentsOf(project.id);
    return connection(list, pageArgs(args), (e) => environmentView(ctx, e));
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
  variablesForServiceDeployment: (args, ctx) => {
    const { environmentId, serviceId } = variableTarget(ctx, args);
    return ctx.store.renderedVariables(environmentId, serviceId);
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
  // Sandbox services deploy images, and an image has no build step: its build log is empty.
  buildLogs: (args, ctx) => {
    requireDeployment(ctx, str(args, 'deploymentId'));
    return [];
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
  deploymentRemove: (args, ctx) => {
    ctx.store.remove(requireDeployment(ctx, str(args, 'id')));
    return true;
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
  serviceInstanceDeploy: (args, ctx) => {
    const i = instanceOf(ctx, str(args, 'environmentId'), str(args, 'serviceId'));
    // `latestCommit` picks the newest commit of a repo source; an image source has none, so the image deploys.
    if (optStr(args, 'commitSha') !== undefined) throw new GraphQLError('Commit not found');
    ctx.store.deploy(i.environmentId, i.serviceId, 'deploy');
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
  environmentCreate: (args, ctx) => {
    const i = input(args);
    const project = requireProject(ctx, str(i, 'projectId'));
    requireAccount(ctx);
    const name = str(i, 'name');
    if (ctx.store.environmentsOf(project.id).some((e) => e.name === name)) {
      throw new GraphQLError(`Environment ${name} already exists`);
    }
    const sourceId = optStr(i, 'sourceEnvironmentId');
    if (sourceId !== undefined) requireEnvironment(ctx, sourceId, project.id);
    const env = ctx.store.createEnvironment(project.id, name);
    if (sourceId !== undefined) {
      ctx.store.copyEnvironment(sourceId, env.id);
      if (i['skipInitialDeploys'] !== true) {
        for (const instance of ctx.store.instancesOf(env.id)) {
          if (instance.image) ctx.store.deploy(env.id, instance.serviceId, 'deploy');
        }
      }
    }
    return environmentView(ctx, env);
  },
  environmentDelete: (args, ctx) => {
    const env = requireEnvironment(ctx, str(args, 'id'));
    requireAccount(ctx);
    ctx.store.deleteEnvironment(env.id);
    return true;
  },
  serviceCreate: (args, ctx) => {
    const i = input(args);
    const project = requireProject(ctx, str(i, 'projectId'));
    const environmentId = optStr(i, 'environmentId');
    if (environmentId !== undefined) requireEnvironment(ctx, environmentId, project.id);
    const source = (i['source'] ?? {}) as { image?: string | null; repo?: string | null };
    // Sandbox services run images: there is no GitHub to clone a repo from.
    if (source.repo) throw new GraphQLError('Repo sources are not available in the sandbox Railway API; use an image');
    const name = optStr(i, 'name') ?? source.image?.split('/').pop()?.split(':')[0] ?? `service-${randomBytes(2).toString('hex')}`;
    const icon = optStr(i, 'icon');
    const service = ctx.store.createService(project.id, name, {
      ...(source.image && { image: source.image }),
      ...(icon !== undefined && { icon }),
    });
    const targets = environmentId !== undefined ? [environmentId] : ctx.store.environmentsOf(project.id).map((e) => e.id);
    for (const envId of targets) {
      if (i['variables'] !== undefined && i['variables'] !== null) {
        ctx.store.upsertVariables(envId, service.id, variablesArg(i['variables']), { skipDeploys: true });
      }
      if (source.image) ctx.store.deploy(envId, service.id, 'deploy');
    }
    return serviceView(ctx, service);
  },
  serviceDelete: (args, ctx) => {
    const service = requireService(ctx, str(args, 'id'));
    const environmentId = optStr(args, 'environmentId');
    if (environmentId !== undefined) requireEnvironment(ctx, environmentId, service.projectId);
    ctx.store.deleteService(service.id);
    return true;
  },
  serviceDomainCreate: (args, ctx) => {
    const i = input(args);
    const instance = instanceOf(ctx, str(i, 'environmentId'), str(i, 'serviceId'));
    const service = requireService(ctx, instance.serviceId);
    const env = requireEnvironment(ctx, instance.environmentId);
    const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    const domain = {
      id: randomUUID(),
      domain: `${slug(service.name)}-${slug(env.name)}-${randomBytes(2).toString('hex')}.up.railway.app`,
      targetPort: typeof i['targetPort'] === 'number' ? i['targetPort'] : undefined,
    };
    instance.serviceDomains.push(domain);
    return serviceDomainView(ctx, instance, domain);
  },
  serviceDomainUpdate: (args, ctx) => {
    const i = input(args);
    const instance = instanceOf(ctx, str(i, 'environmentId'), str(i, 'serviceId'));
    const at = instance.serviceDomains.findIndex((d) => d.id === str(i, 'serviceDomainId'));
    const current = instance.serviceDomains[at];
    if (!current) throw new GraphQLError('ServiceDomain not found');
    const domain = str(i, 'domain');
    if (!domain.endsWith('.up.railway.app')) throw new GraphQLError('Service domains must end in .up.railway.app');
    instance.serviceDomains[at] = {
      id: current.id,
      domain,
      targetPort: typeof i['targetPort'] === 'number' ? i['targetPort'] : current.targetPort,
    };
    return true;
  },
  serviceDomainDelete: (args, ctx) => {
    const id = str(args, 'id');
    const instance = owning(ctx, (i) => i.serviceDomains.some((d) => d.id === id), 'ServiceDomain not found');
    instance.serviceDomains.splice(instance.serviceDomains.findIndex((d) => d.id === id), 1);
    return true;
  },
  tcpProxyDelete: (args, ctx) => {
    const id = str(args, 'id');
    const instance = owning(ctx, (i) => i.tcpProxies.some((p) => p.id === id), 'TCPProxy not found');
    instance.tcpProxies.splice(instance.tcpProxies.findIndex((p) => p.id === id), 1);
    return true;
  },
  environmentPatchCommit: (args, ctx, info) => {
    const env = requireEnvironment(ctx, str(args, 'environmentId'));
    applyEnvironmentPatch(ctx, env.id, args['patch'] ?? {}, info);
    // Railway answers the id of the workflow that applies the patch.
    return randomUUID();
  },
};

/** Workspaces of the projects the caller can see. */
function workspaceIds(ctx: RequestContext): string[] {
  return [...new Set([...ctx.store.projects.values()].map((p) => p.workspaceId))];
}

/** The service instance holding a domain or proxy, checked against the caller's reach. */
function owning(ctx: RequestContext, holds: (i: ServiceInstanceRecord) => boolean, missing: string): ServiceInstanceRecord {
  const instance = [...ctx.store.serviceInstances.values()].find(holds);
  if (!instance) throw new GraphQLError(missing);
  return instanceOf(ctx, instance.environmentId, instance.serviceId);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Variables of a patch: `{ NAME: { value } }` sets, `{ NAME: null }` deletes. */
function patchVariables(value: unknown): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  if (!isObject(value)) throw new GraphQLError('Patch variables must be an object of names');
  for (const [name, v] of Object.entries(value)) {
    if (v === null) unset.push(name);
    else if (isObject(v) && typeof v['value'] === 'string') set[name] = v['value'];
    else throw new GraphQLError(`Patch variable ${name} must be { value: string } or null`);
  }
  return { set, unset };
}

const PATCH_DEPLOY_KEYS = ['startCommand', 'healthcheckPath', 'numReplicas'] as const;

/**
 * Applies what the sandbox models of an environment config patch (variables, the image, the start command, the
 * healthcheck path, replicas) and deploys the services it changed; any other key is refused by name, so a caller
 * never takes a dropped setting for an applied one.
 */
function applyEnvironmentPatch(ctx: RequestContext, environmentId: string, patch: unknown, info: GraphQLResolveInfo): void {
  if (!isObject(patch)) throw new GraphQLError('The patch must be an environment config object');
  const refuse = (key: string) => notModeled(info, `key ${key}`);
  for (const key of Object.keys(patch)) if (key !== 'services' && key !== 'sharedVariables') throw refuse(key);
  const changed = new Set<string>();
  if (patch['sharedVariables'] !== undefined) {
    const { set, unset } = patchVariables(patch['sharedVariables']);
    // Shared variables redeploy the services whose values refer to them, as variableCollectionUpsert does.
    ctx.store.upsertVariables(environmentId, undefined, set);
    for (const name of unset) ctx.store.deleteVariable(environmentId, undefined, name);
  }
  const services = patch['services'] ?? {};
  if (!isObject(services)) throw new GraphQLError('Patch services must be an object keyed by service id');
  for (const [serviceId, servicePatch] of Object.entries(services)) {
    const instance = instanceOf(ctx, environmentId, serviceId);
    if (!isObject(servicePatch)) throw new GraphQLError(`Patch of service ${serviceId} must be an object`);
    for (const key of Object.keys(servicePatch)) {
      if (key !== 'variables' && key !== 'source' && key !== 'deploy') throw refuse(`services.${serviceId}.${key}`);
    }
    const source = servicePatch['source'];
    if (source !== undefined) {
      if (!isObject(source)) throw new GraphQLError(`services.${serviceId}.source must be an object`);
      for (const key of Object.keys(source)) if (key !== 'image') throw refuse(`services.${serviceId}.source.${key}`);
      if (typeof source['image'] === 'string') instance.image = source['image'];
      changed.add(serviceId);
    }
    const deploy = servicePatch['deploy'];
    if (deploy !== undefined) {
      if (!isObject(deploy)) throw new GraphQLError(`services.${serviceId}.deploy must be an object`);
      for (const key of Object.keys(deploy)) {
        if (!(PATCH_DEPLOY_KEYS as readonly string[]).includes(key)) throw refuse(`services.${serviceId}.deploy.${key}`);
      }
      if (typeof deploy['startCommand'] === 'string') instance.startCommand = deploy['startCommand'];
      if (typeof deploy['healthcheckPath'] === 'string') instance.healthcheckPath = deploy['healthcheckPath'];
      if (typeof deploy['numReplicas'] === 'number') instance.numReplicas = deploy['numReplicas'];
      instance.updatedAt = new Date();
      changed.add(serviceId);
    }
    if (servicePatch['variables'] !== undefined) {
      const { set, unset } = patchVariables(servicePatch['variables']);
      ctx.store.upsertVariables(environmentId, serviceId, set, { skipDeploys: true });
      for (const name of unset) ctx.store.deleteVariable(environmentId, serviceId, name);
      changed.add(serviceId);
    }
  }
  for (const serviceId of changed) ctx.store.deploy(environmentId, serviceId, 'deploy');
}
