import { randomUUID } from 'node:crypto';
import {
  IN_PROGRESS_STATUSES,
  type DeploymentRecord,
  type DeploymentStatus,
  type EnvironmentRecord,
  type LogRecord,
  type ProjectRecord,
  type ProjectTokenRecord,
  type ServiceInstanceRecord,
  type ServiceRecord,
} from './model';
import { referencesOf, renderValue, type VariableScope } from './render-variables';

/** How long a deployment spends in each phase before SUCCESS. */
export interface DeployTimings {
  readonly queuedMs: number;
  readonly buildingMs: number;
  readonly deployingMs: number;
}

export const DEFAULT_DEPLOY_TIMINGS: DeployTimings = { queuedMs: 300, buildingMs: 1_500, deployingMs: 1_000 };

/** Fixed phase durations, or a function asked once per deployment (the sandbox draws them from its timing table). */
export type DeployTimingsSource = DeployTimings | (() => DeployTimings);

/**
 * Decides how a deployment of one service ends when it leaves DEPLOYING: the webapp stand-in uses it to crash on
 * bad secrets and to print its boot logs (the bootstrap banner among them).
 */
export type BootHook = (deployment: DeploymentRecord) => { readonly crashed: boolean; readonly logs: readonly string[] };

export type DeploymentListener = (deployment: DeploymentRecord, previous: DeploymentStatus | undefined) => void;

const SHARED = '';

/** The state of the Railway stand-in; the webapp stand-in reads deployments and writes logs through it. */
export class RailwayStore {
  readonly projects = new Map<string, ProjectRecord>();
  readonly environments = new Map<string, EnvironmentRecord>();
  readonly services = new Map<string, ServiceRecord>();
  /** Keyed by `${environmentId}/${serviceId}`. */
  readonly serviceInstances = new Map<string, ServiceInstanceRecord>();
  readonly deployments = new Map<string, DeploymentRecord>();
  readonly projectTokens = new Map<string, ProjectTokenRecord>();
  /** environmentId → serviceId ('' for shared variables) → name → raw value. */
  readonly #variables = new Map<string, Map<string, Map<string, string>>>();
  readonly #bootHooks = new Map<string, BootHook>();
  readonly #listeners = new Set<DeploymentListener>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #timings: DeployTimingsSource;
  #disposed = false;

  constructor(timings: DeployTimingsSource = DEFAULT_DEPLOY_TIMINGS) {
    this.#timings = timings;
  }

  setDeployTimings(timings: DeployTimingsSource): void {
    this.#timings = timings;
  }

  createProject(name: string, workspaceId: string = randomUUID()): ProjectRecord {
    const now = new Date();
    const project: ProjectRecord = { id: randomUUID(), name, workspaceId, createdAt: now, updatedAt: now };
    this.projects.set(project.id, project);
    return project;
  }

  createEnvironment(projectId: string, name: string): EnvironmentRecord {
    const now = new Date();
    const env: EnvironmentRecord = { id: randomUUID(), projectId, name, createdAt: now, updatedAt: now };
    this.environments.set(env.id, env);
    for (const service of this.servicesOf(projectId)) {
      const image = [...this.serviceInstances.values()].find((i) => i.serviceId === service.id)?.image;
      this.#ensureInstance(env.id, service.id).image = image;
    }
    return env;
  }

  createService(projectId: string, name: string, options: { image?: string; icon?: string } = {}): ServiceRecord {
    const now = new Date();
    const service: ServiceRecord = { id: randomUUID(), projectId, name, icon: options.icon, createdAt: now, updatedAt: now };
    this.services.set(service.id, service);
    for (const env of this.environmentsOf(projectId)) {
      this.#ensureInstance(env.id, service.id).image = options.image;
    }
    return service;
  }

  createProjectToken(projectId: string, environmentId: string, name = 'trigger-ops'): ProjectTokenRecord {
    const record: ProjectTokenRecord = {
      id: randomUUID(),
      token: randomUUID(),
      name,
      projectId,
      environmentId,
      createdAt: new Date(),
    };
    this.projectTokens.set(record.token, record);
    return record;
  }

  /**
   * Copies the source environment's variables and service settings into a new environment (Railway's "duplicate
   * environment"). Service domains and TCP proxies stay behind: Railway generates new ones per environment.
   */
  copyEnvironment(sourceId: string, targetId: string): void {
    for (const [serviceId, bucket] of this.#variables.get(sourceId) ?? []) {
      this.#bucket(targetId, serviceId).clear();
      for (const [name, value] of bucket) this.#bucket(targetId, serviceId).set(name, value);
    }
    for (const from of this.instancesOf(sourceId)) {
      const to = this.instance(targetId, from.serviceId);
      if (!to) continue;
      to.image = from.image;
      to.startCommand = from.startCommand;
      to.healthcheckPath = from.healthcheckPath;
      to.numReplicas = from.numReplicas;
      to.region = from.region;
    }
  }

  /** Removes an environment with its service instances, deployments, variables and project tokens. */
  deleteEnvironment(environmentId: string): void {
    this.environments.delete(environmentId);
    for (const i of this.instancesOf(environmentId)) this.serviceInstances.delete(`${i.environmentId}/${i.serviceId}`);
    for (const d of this.deploymentsOf(environmentId, undefined)) this.#drop(d);
    this.#variables.delete(environmentId);
    for (const [token, record] of this.projectTokens) if (record.environmentId === environmentId) this.projectTokens.delete(token);
  }

  /** Removes a service from every environment of its project, with its deployments and variables. */
  deleteService(serviceId: string): void {
    this.services.delete(serviceId);
    for (const [key, i] of this.serviceInstances) if (i.serviceId === serviceId) this.serviceInstances.delete(key);
    for (const d of this.deploymentsOf(undefined, serviceId)) this.#drop(d);
    for (const env of this.#variables.values()) env.delete(serviceId);
    this.#bootHooks.delete(serviceId);
  }

  servicesOf(projectId: string): ServiceRecord[] {
    return [...this.services.values()].filter((s) => s.projectId === projectId);
  }

  environmentsOf(projectId: string): EnvironmentRecord[] {
    return [...this.environments.values()].filter((e) => e.projectId === projectId);
  }

  serviceByName(projectId: string, name: string): ServiceRecord | undefined {
    return this.servicesOf(projectId).find((s) => s.name === name);
  }

  instance(environmentId: string, serviceId: string): ServiceInstanceRecord | undefined {
    return this.serviceInstances.get(`${environmentId}/${serviceId}`);
  }

  instancesOf(environmentId: string): ServiceInstanceRecord[] {
    return [...this.serviceInstances.values()].filter((i) => i.environmentId === environmentId);
  }

  // ---- variables -------------------------------------------------------------------------------------------------

  /** Raw values as stored (`${{…}}` references unrendered); without serviceId, the shared variables. */
  rawVariables(environmentId: string, serviceId?: string): Record<string, string> {
    return Object.fromEntries(this.#bucket(environmentId, serviceId ?? SHARED));
  }

  /** What `variables(...)` returns without `unrendered`: references resolved, Railway-provided variables included. */
  renderedVariables(environmentId: string, serviceId?: string): Record<string, string> {
    const scope = this.#scope(environmentId, serviceId);
    const out: Record<string, string> = serviceId ? this.providedVariables(environmentId, serviceId) : {};
    for (const [name, raw] of this.#bucket(environmentId, serviceId ?? SHARED)) out[name] = renderValue(raw, scope);
    return out;
  }

  /** Variables Railway injects into every deployment (reference §7). */
  providedVariables(environmentId: string, serviceId: string): Record<string, string> {
    const env = this.environments.get(environmentId);
    const service = this.services.get(serviceId);
    const project = service ? this.projects.get(service.projectId) : undefined;
    const instance = this.instance(environmentId, serviceId);
    if (!env || !service || !project || !instance) return {};
    const vars: Record<string, string> = {
      RAILWAY_ENVIRONMENT: env.name,
      RAILWAY_ENVIRONMENT_ID: env.id,
      RAILWAY_ENVIRONMENT_NAME: env.name,
      RAILWAY_PRIVATE_DOMAIN: `${service.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.railway.internal`,
      RAILWAY_PROJECT_ID: project.id,
      RAILWAY_PROJECT_NAME: project.name,
      RAILWAY_SERVICE_ID: service.id,
      RAILWAY_SERVICE_NAME: service.name,
    };
    const domain = instance.serviceDomains[0];
    if (domain) {
      vars['RAILWAY_PUBLIC_DOMAIN'] = domain.domain;
      vars['RAILWAY_STATIC_URL'] = domain.domain;
    }
    const proxy = instance.tcpProxies[0];
    if (proxy) {
      vars['RAILWAY_TCP_PROXY_DOMAIN'] = proxy.domain;
      vars['RAILWAY_TCP_PROXY_PORT'] = String(proxy.proxyPort);
      vars['RAILWAY_TCP_APPLICATION_PORT'] = String(proxy.applicationPort);
    }
    return vars;
  }

  /**
   * Sets variables (and, with `replace`, deletes the others). Unless `skipDeploys`, queues a deployment of every
   * service the change affects: the service itself, or for shared variables and cross-service references, the
   * services whose values refer to a changed name. Returns the queued deployments.
   */
  upsertVariables(
    environmentId: string,
    serviceId: string | undefined,
    values: Readonly<Record<string, string>>,
    options: { replace?: boolean; skipDeploys?: boolean } = {},
  ): DeploymentRecord[] {
    const bucket = this.#bucket(environmentId, serviceId ?? SHARED);
    const changed = new Set<string>();
    if (options.replace) {
      for (const name of bucket.keys()) {
        if (!(name in values)) {
          bucket.delete(name);
          changed.add(name);
        }
      }
    }
    for (const [name, value] of Object.entries(values)) {
      if (bucket.get(name) !== value) changed.add(name);
      bucket.set(name, value);
    }
    return options.skipDeploys ? [] : this.#deployAffected(environmentId, serviceId, changed);
  }

  deleteVariable(environmentId: string, serviceId: string | undefined, name: string): DeploymentRecord[] {
    const bucket = this.#bucket(environmentId, serviceId ?? SHARED);
    if (!bucket.delete(name)) return [];
    return this.#deployAffected(environmentId, serviceId, new Set([name]));
  }

  // ---- deployments -----------------------------------------------------------------------------------------------

  /**
   * Queues a deployment of the service's current image and variables; it walks QUEUED → BUILDING → DEPLOYING →
   * SUCCESS (or CRASHED, if the service's boot hook says so). With `immediate`, it is SUCCESS at once (seeding).
   */
  deploy(environmentId: string, serviceId: string, reason: string, options: { immediate?: boolean } = {}): DeploymentRecord {
    const instance = this.instance(environmentId, serviceId);
    const service = this.services.get(serviceId);
    if (!instance || !service) throw new Error(`no service ${serviceId} in environment ${environmentId}`);
    for (const d of this.deploymentsOf(environmentId, serviceId)) {
      if (IN_PROGRESS_STATUSES.includes(d.status)) this.#setStatus(d, 'REMOVED');
    }
    const now = new Date();
    const id = randomUUID();
    const deployment: DeploymentRecord = {
      id,
      projectId: service.projectId,
      environmentId,
      serviceId,
      status: 'QUEUED',
      createdAt: now,
      updatedAt: now,
      statusUpdatedAt: now,
      image: instance.image,
      reason,
      variables: { ...this.renderedVariables(environmentId, serviceId), RAILWAY_DEPLOYMENT_ID: id },
      logs: [],
    };
    this.deployments.set(deployment.id, deployment);
    this.#emit(deployment, undefined);
    if (options.immediate) {
      this.#finish(deployment);
      return deployment;
    }
    const t = typeof this.#timings === 'function' ? this.#timings() : this.#timings;
    this.#after(t.queuedMs, () => {
      if (deployment.status !== 'QUEUED') return;
      this.#setStatus(deployment, 'BUILDING');
      this.#after(t.buildingMs, () => {
        if (deployment.status !== 'BUILDING') return;
        this.#setStatus(deployment, 'DEPLOYING');
        this.#after(t.deployingMs, () => {
          if (deployment.status === 'DEPLOYING') this.#finish(deployment);
        });
      });
    });
    return deployment;
  }

  /** Stops a deployment (`deploymentRemove`): it stays listed, as REMOVED. */
  remove(deployment: DeploymentRecord): void {
    this.#setStatus(deployment, 'REMOVED');
  }

  /** Restarts the containers of a deployment: same id, the boot hook runs again. */
  restart(deployment: DeploymentRecord): void {
    this.appendLog(deployment.id, 'Restarting container');
    this.boot(deployment);
  }

  /** Runs the service's boot hook for a running deployment (restart, or a hook attached after it started). */
  boot(deployment: DeploymentRecord): void {
    if (this.#runBootHook(deployment)) this.#setStatus(deployment, 'CRASHED');
  }

  /** Newest first. */
  deploymentsOf(environmentId: string | undefined, serviceId: string | undefined, projectId?: string): DeploymentRecord[] {
    return [...this.deployments.values()]
      .filter(
        (d) =>
          (environmentId === undefined || d.environmentId === environmentId) &&
          (serviceId === undefined || d.serviceId === serviceId) &&
          (projectId === undefined || d.projectId === projectId),
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (b.id < a.id ? -1 : 1));
  }

  latestDeployment(environmentId: string, serviceId: string): DeploymentRecord | undefined {
    return this.deploymentsOf(environmentId, serviceId)[0];
  }

  /** The deployment serving traffic: the newest SUCCESS one. */
  activeDeployment(environmentId: string, serviceId: string): DeploymentRecord | undefined {
    return this.deploymentsOf(environmentId, serviceId).find((d) => d.status === 'SUCCESS');
  }

  appendLog(
    deploymentId: string,
    message: string,
    severity: LogRecord['severity'] = 'info',
    attributes: Record<string, string> = {},
  ): void {
    const d = this.deployments.get(deploymentId);
    if (!d) throw new Error(`no deployment ${deploymentId}`);
    d.logs.push({ timestamp: new Date().toISOString(), message, severity, attributes: { level: severity, ...attributes } });
  }

  setBootHook(serviceId: string, hook: BootHook | undefined): void {
    if (hook) this.#bootHooks.set(serviceId, hook);
    else this.#bootHooks.delete(serviceId);
  }

  onDeployment(listener: DeploymentListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops every pending status transition. */
  dispose(): void {
    this.#disposed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#listeners.clear();
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  #finish(deployment: DeploymentRecord): void {
    this.appendLog(deployment.id, 'Starting Container');
    if (this.#runBootHook(deployment)) {
      this.#setStatus(deployment, 'CRASHED');
      return;
    }
    for (const d of this.deploymentsOf(deployment.environmentId, deployment.serviceId)) {
      if (d !== deployment && (d.status === 'SUCCESS' || d.status === 'CRASHED')) this.#setStatus(d, 'REMOVED');
    }
    this.#setStatus(deployment, 'SUCCESS');
  }

  /** A deployment of a deleted service or environment: stopped, then gone from every list. */
  #drop(deployment: DeploymentRecord): void {
    this.#setStatus(deployment, 'REMOVED');
    this.deployments.delete(deployment.id);
  }

  /** Appends the hook's log lines; true when the container crashed. */
  #runBootHook(deployment: DeploymentRecord): boolean {
    const outcome = this.#bootHooks.get(deployment.serviceId)?.(deployment);
    for (const line of outcome?.logs ?? []) {
      this.appendLog(deployment.id, line, /\berror\b|failed|must not/i.test(line) ? 'error' : 'info');
    }
    return outcome?.crashed ?? false;
  }

  #setStatus(deployment: DeploymentRecord, status: DeploymentStatus): void {
    const previous = deployment.status;
    if (previous === status) return;
    const now = new Date();
    deployment.status = status;
    deployment.updatedAt = now;
    deployment.statusUpdatedAt = now;
    this.#emit(deployment, previous);
  }

  #emit(deployment: DeploymentRecord, previous: DeploymentStatus | undefined): void {
    for (const listener of this.#listeners) listener(deployment, previous);
  }

  #after(ms: number, fn: () => void): void {
    if (this.#disposed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #deployAffected(environmentId: string, serviceId: string | undefined, changed: ReadonlySet<string>): DeploymentRecord[] {
    if (changed.size === 0) return [];
    const env = this.environments.get(environmentId);
    if (!env) return [];
    const changedService = serviceId ? this.services.get(serviceId) : undefined;
    const namespace = changedService ? changedService.name : 'shared';
    const affected = new Set<string>(serviceId ? [serviceId] : []);
    for (const service of this.servicesOf(env.projectId)) {
      const refersToChange = [...this.#bucket(environmentId, service.id).values()].some((raw) =>
        referencesOf(raw).some((r) => r.namespace === namespace && changed.has(r.name)),
      );
      if (refersToChange) affected.add(service.id);
    }
    return [...affected].map((id) => this.deploy(environmentId, id, 'variables'));
  }

  #bucket(environmentId: string, key: string): Map<string, string> {
    let env = this.#variables.get(environmentId);
    if (!env) {
      env = new Map();
      this.#variables.set(environmentId, env);
    }
    let bucket = env.get(key);
    if (!bucket) {
      bucket = new Map();
      env.set(key, bucket);
    }
    return bucket;
  }

  #scope(environmentId: string, serviceId: string | undefined): VariableScope {
    const env = this.environments.get(environmentId);
    return {
      lookup: (namespace, name) => {
        if (namespace === 'shared' || (namespace === undefined && serviceId === undefined)) {
          const raw = this.#bucket(environmentId, SHARED).get(name);
          return raw === undefined ? undefined : { raw, scope: this.#scope(environmentId, undefined) };
        }
        const target =
          namespace === undefined ? serviceId : env ? this.serviceByName(env.projectId, namespace)?.id : undefined;
        if (target === undefined) return undefined;
        const raw = this.#bucket(environmentId, target).get(name) ?? this.providedVariables(environmentId, target)[name];
        return raw === undefined ? undefined : { raw, scope: this.#scope(environmentId, target) };
      },
    };
  }

  #ensureInstance(environmentId: string, serviceId: string): ServiceInstanceRecord {
    const key = `${environmentId}/${serviceId}`;
    let instance = this.serviceInstances.get(key);
    if (!instance) {
      const now = new Date();
      instance = {
        id: randomUUID(),
        environmentId,
        serviceId,
        image: undefined,
        startCommand: undefined,
        healthcheckPath: undefined,
        numReplicas: 1,
        region: 'us-east4-eqdc4a',
        serviceDomains: [],
        tcpProxies: [],
        createdAt: now,
        updatedAt: now,
      };
      this.serviceInstances.set(key, instance);
    }
    return instance;
  }
}
