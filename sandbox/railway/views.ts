import { IN_PROGRESS_STATUSES, type DeploymentRecord, type EnvironmentRecord, type LogRecord, type ProjectRecord, type ProjectTokenRecord, type ServiceDomainRecord, type ServiceInstanceRecord, type ServiceRecord } from './model';
import { canAccessEnvironment, notAuthorized, type RequestContext } from './access';

/*
 * GraphQL objects for the executor's default field resolver: plain values, or functions of the field's arguments for
 * fields that take arguments or are expensive. Fields a view leaves out resolve to null (an error if non-null).
 */

type Args = Readonly<Record<string, unknown>>;

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

export function pageArgs(args: Args): PageArgs {
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { first: num(args['first']), after: str(args['after']), last: num(args['last']), before: str(args['before']) };
}

/** Relay connection over `items`, each identified by `id` (the cursor). */
export function connection<T extends { readonly id: string }, V>(items: readonly T[], args: PageArgs, view: (item: T) => V) {
  let start = 0;
  let end = items.length;
  if (args.after) {
    const i = items.findIndex((x) => x.id === args.after);
    if (i >= 0) start = i + 1;
  }
  if (args.before) {
    const i = items.findIndex((x) => x.id === args.before);
    if (i >= 0) end = i;
  }
  if (typeof args.first === 'number') end = Math.min(end, start + Math.max(0, args.first));
  if (typeof args.last === 'number') start = Math.max(start, end - Math.max(0, args.last));
  const page = items.slice(start, end);
  return {
    edges: page.map((item) => ({ cursor: item.id, node: view(item) })),
    pageInfo: {
      startCursor: page[0]?.id ?? null,
      endCursor: page[page.length - 1]?.id ?? null,
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
    },
  };
}

export function projectView(ctx: RequestContext, p: ProjectRecord) {
  const envs = ctx.store.environmentsOf(p.id);
  return {
    __typename: 'Project',
    id: p.id,
    name: p.name,
    description: null,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    deletedAt: null,
    expiredAt: null,
    isPublic: false,
    isTempProject: false,
    prDeploys: false,
    botPrEnvironments: false,
    focusedPrEnvironments: false,
    workspaceId: p.workspaceId,
    teamId: p.workspaceId,
    baseEnvironmentId: null,
    primaryEnvironmentId: envs[0]?.id ?? null,
    subscriptionType: 'pro',
    featureFlags: [],
    members: [],
    workspace: () => workspaceView(ctx, p.workspaceId),
    // The sandbox's projects hold services only: no buckets, so an empty connection is the true answer.
    buckets: (args: Args) => connection([], pageArgs(args), () => null),
    services: (args: Args) => connection(ctx.store.servicesOf(p.id), pageArgs(args), (s) => serviceView(ctx, s)),
    environments: (args: Args) => connection(envs, pageArgs(args), (e) => environmentView(ctx, e)),
  };
}

/** The sandbox's workspaces are personal ones (no team), named after nothing in particular. */
export const SANDBOX_WORKSPACE_NAME = 'Sandbox Workspace';

export function workspaceView(ctx: RequestContext, workspaceId: string) {
  const projects = [...ctx.store.projects.values()].filter((p) => p.workspaceId === workspaceId);
  const created = projects.reduce((min, p) => (p.createdAt < min ? p.createdAt : min), projects[0]?.createdAt ?? new Date(0));
  return {
    __typename: 'Workspace',
    id: workspaceId,
    name: SANDBOX_WORKSPACE_NAME,
    avatar: null,
    createdAt: created.toISOString(),
    updatedAt: created.toISOString(),
    preferredRegion: null,
    team: null,
    projectCount: () => projects.length,
    projects: (args: Args) => connection(projects, pageArgs(args), (p) => projectView(ctx, p)),
  };
}

/**
 * `Environment.config`, in the shape the CLI reads (railwayapp/cli src/controllers/config/environment.rs): what the
 * sandbox models of each service instance, and the variables. Railway sends the values only when asked to decrypt
 * them; otherwise the sandbox lists the names without values.
 */
export function environmentConfig(ctx: RequestContext, e: EnvironmentRecord, decryptVariables: boolean) {
  const variables = (raw: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, decryptVariables ? { value } : {}]));
  const services: Record<string, unknown> = {};
  for (const i of ctx.store.instancesOf(e.id)) {
    services[i.serviceId] = {
      source: i.image ? { image: i.image } : {},
      networking: {
        serviceDomains: Object.fromEntries(i.serviceDomains.map((d) => [d.domain, d.targetPort ? { port: d.targetPort } : {}])),
        tcpProxies: Object.fromEntries(i.tcpProxies.map((p) => [String(p.applicationPort), {}])),
      },
      variables: variables(ctx.store.rawVariables(e.id, i.serviceId)),
      deploy: {
        ...(i.startCommand !== undefined && { startCommand: i.startCommand }),
        ...(i.healthcheckPath !== undefined && { healthcheckPath: i.healthcheckPath }),
        numReplicas: i.numReplicas,
        multiRegionConfig: { [i.region]: { numReplicas: i.numReplicas } },
        restartPolicyType: 'ON_FAILURE',
        restartPolicyMaxRetries: 10,
      },
    };
  }
  return { services, sharedVariables: variables(ctx.store.rawVariables(e.id)) };
}

export function environmentView(ctx: RequestContext, e: EnvironmentRecord) {
  const guard = () => {
    if (!canAccessEnvironment(ctx, e.id)) throw notAuthorized();
  };
  return {
    __typename: 'Environment',
    id: e.id,
    name: e.name,
    projectId: e.projectId,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    deletedAt: null,
    isEphemeral: false,
    canAccess: canAccessEnvironment(ctx, e.id),
    unmergedChangesCount: 0,
    meta: null,
    sourceEnvironment: null,
    config: (args: Args) => {
      guard();
      return environmentConfig(ctx, e, args['decryptVariables'] === true);
    },
    // The sandbox models no volumes, so its environments have none: an empty connection is the true answer.
    volumeInstances: (args: Args) => connection([], pageArgs(args), () => null),
    serviceInstances: (args: Args) => {
      guard();
      return connection(ctx.store.instancesOf(e.id), pageArgs(args), (i) => serviceInstanceView(ctx, i));
    },
    deployments: (args: Args) => {
      guard();
      return connection(ctx.store.deploymentsOf(e.id, undefined), pageArgs(args), (d) => deploymentView(ctx, d));
    },
  };
}

export function serviceView(ctx: RequestContext, s: ServiceRecord) {
  return {
    __typename: 'Service',
    id: s.id,
    name: s.name,
    icon: s.icon ?? null,
    projectId: s.projectId,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    deletedAt: null,
    featureFlags: [],
    groupId: null,
    hasHiddenRegistryCredentialsFromTemplate: false,
    isRestricted: false,
    templateId: null,
    templateServiceId: null,
    templateThreadSlug: null,
    project: () => {
      const p = ctx.store.projects.get(s.projectId);
      return p ? projectView(ctx, p) : null;
    },
  };
}

export function serviceInstanceView(ctx: RequestContext, i: ServiceInstanceRecord) {
  const service = ctx.store.services.get(i.serviceId);
  return {
    __typename: 'ServiceInstance',
    id: i.id,
    environmentId: i.environmentId,
    serviceId: i.serviceId,
    serviceName: service?.name ?? '',
    service: () => (service ? serviceView(ctx, service) : null),
    source: i.image ? { image: i.image, repo: null } : null,
    startCommand: i.startCommand ?? null,
    healthcheckPath: i.healthcheckPath ?? null,
    healthcheckTimeout: null,
    numReplicas: i.numReplicas,
    region: i.region,
    builder: 'RAILPACK',
    restartPolicyType: 'ON_FAILURE',
    restartPolicyMaxRetries: 10,
    isUpdatable: true,
    watchPatterns: [],
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
    deletedAt: null,
    cronSchedule: null,
    nextCronRunAt: null,
    sleepApplication: false,
    domains: () => domainsView(ctx, i),
    latestDeployment: () => {
      const d = ctx.store.latestDeployment(i.environmentId, i.serviceId);
      return d ? deploymentView(ctx, d) : null;
    },
    activeDeployments: () =>
      ctx.store
        .deploymentsOf(i.environmentId, i.serviceId)
        .filter((d) => d.status === 'SUCCESS')
        .map((d) => deploymentView(ctx, d)),
  };
}

export function serviceDomainView(ctx: RequestContext, i: ServiceInstanceRecord, d: ServiceDomainRecord) {
  return {
    __typename: 'ServiceDomain',
    id: d.id,
    domain: d.domain,
    suffix: d.domain.endsWith('.up.railway.app') ? 'up.railway.app' : null,
    targetPort: d.targetPort ?? null,
    syncStatus: 'ACTIVE',
    environmentId: i.environmentId,
    serviceId: i.serviceId,
    projectId: ctx.store.services.get(i.serviceId)?.projectId ?? null,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
    deletedAt: null,
    edgeId: null,
    cdnMode: null,
    newDomainName: null,
    newHostLabel: null,
  };
}

export function domainsView(ctx: RequestContext, i: ServiceInstanceRecord) {
  return {
    // Custom domains need DNS and certificates, which the sandbox does not model: its instances have none.
    customDomains: [],
    serviceDomains: i.serviceDomains.map((d) => serviceDomainView(ctx, i, d)),
  };
}

export function tcpProxiesView(i: ServiceInstanceRecord) {
  return i.tcpProxies.map((p) => ({
    id: p.id,
    domain: p.domain,
    proxyPort: p.proxyPort,
    applicationPort: p.applicationPort,
    environmentId: i.environmentId,
    serviceId: i.serviceId,
    syncStatus: 'ACTIVE',
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
    deletedAt: null,
  }));
}

export function deploymentView(ctx: RequestContext, d: DeploymentRecord) {
  const instance = ctx.store.instance(d.environmentId, d.serviceId);
  const domain = instance?.serviceDomains[0]?.domain;
  const inProgress = IN_PROGRESS_STATUSES.includes(d.status);
  const stopped = d.status === 'REMOVED' || d.status === 'CRASHED' || d.status === 'FAILED' || d.status === 'SKIPPED';
  return {
    __typename: 'Deployment',
    id: d.id,
    status: d.status,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    statusUpdatedAt: d.statusUpdatedAt.toISOString(),
    projectId: d.projectId,
    environmentId: d.environmentId,
    serviceId: d.serviceId,
    snapshotId: null,
    canRedeploy: !inProgress && d.status !== 'REMOVED',
    canRollback: d.status === 'REMOVED',
    deploymentStopped: stopped,
    meta: { reason: d.reason, image: d.image ?? null },
    instances: inProgress ? [] : [{ id: `${d.id}-0`, status: d.status === 'SUCCESS' ? 'RUNNING' : stopped ? 'REMOVED' : 'CREATED' }],
    staticUrl: domain ?? null,
    url: domain ? `https://${domain}` : null,
    suggestAddServiceDomain: false,
    sockets: [],
    creator: null,
    diagnosis: null,
    service: () => {
      const s = ctx.store.services.get(d.serviceId);
      return s ? serviceView(ctx, s) : null;
    },
    environment: () => {
      const e = ctx.store.environments.get(d.environmentId);
      return e ? environmentView(ctx, e) : null;
    },
  };
}

export function logView(d: DeploymentRecord, l: LogRecord) {
  return {
    timestamp: l.timestamp,
    message: l.message,
    severity: l.severity,
    attributes: Object.entries(l.attributes).map(([key, value]) => ({ key, value })),
    tags: {
      deploymentId: d.id,
      deploymentInstanceId: `${d.id}-0`,
      environmentId: d.environmentId,
      projectId: d.projectId,
      serviceId: d.serviceId,
      snapshotId: null,
      pluginId: null,
    },
  };
}

export function projectTokenView(ctx: RequestContext, t: ProjectTokenRecord) {
  return {
    __typename: 'ProjectToken',
    id: t.id,
    name: t.name,
    displayToken: `${t.token.slice(0, 4)}****`,
    createdAt: t.createdAt.toISOString(),
    projectId: t.projectId,
    environmentId: t.environmentId,
    project: () => {
      const p = ctx.store.projects.get(t.projectId);
      return p ? projectView(ctx, p) : null;
    },
    environment: () => {
      const e = ctx.store.environments.get(t.environmentId);
      return e ? environmentView(ctx, e) : null;
    },
  };
}
