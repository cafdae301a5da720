import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../../shared/errors';
import { vendoredChainVersions } from '../postgres/chain';
import { resourceNames, secretNames } from '../../shared/ids';
import { BOUNDS } from '../../shared/activity-contract';
import { invalidInput } from '../failures';
import { pause, progress } from '../heartbeat';
import type { SecretStore } from '../secrets/store';
import { parseBootstrapBanner, WebappApiError, type WebappClient } from '../trigger';
import type { RailwayApi, RailwayServiceInstance, RailwayVariableTarget } from './api';
import { assertWebappService, findWebappService, SERVICE_KINDS } from './services';

/** Webapp secrets a supervisor deploy needs; generated when missing, never rotated. */
export const REQUIRED_WEBAPP_SECRETS = ['SESSION_SECRET', 'MAGIC_LINK_SECRET', 'ENCRYPTION_KEY', 'MANAGED_WORKER_SECRET'] as const;

/** Values Trigger.dev once published as defaults; v4.5.6+ refuses them (reference §3). */
const PUBLISHED_INSECURE_DEFAULTS = new Set([
  'managed-secret',
  '2818143646516f6fffd707b36f334bbb',
  '44da78b7bbb0dfe709cf38931d25dcdd',
  'f686147ab967943ebbe9ed3b496e465a',
  '447c29678f9eaf289e9c4b70d3dd8a7f',
]);


export interface RailwayStepDeps {
  readonly railway: RailwayApi;
  /** A client for the webapp at a given public origin. */
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly secrets: SecretStore;
  /** RAILWAY_PROJECT_ID / RAILWAY_ENVIRONMENT_ID of the controller (set by Railway when it runs there). */
  readonly defaultTarget: { readonly projectId: string | undefined; readonly environmentId: string | undefined };
  readonly projectToken: boolean;
  /** TRIGGER_WORKER_TOKEN, when the operator supplies one. */
  readonly configuredWorkerToken: string | undefined;
  readonly pollIntervalMs: number;
}

export interface RailwayTarget {
  projectId: string;
  environmentId: string;
}

export function createRailwayActivities(deps: RailwayStepDeps) {
  const { railway } = deps;

  const webappVariables = (target: RailwayVariableTarget) => railway.getVariables(target);

  const managedWorkerSecret = async (target: RailwayVariableTarget): Promise<string> => {
    const value = (await webappVariables(target))['MANAGED_WORKER_SECRET'];
    if (!value) throw ApplicationFailure.nonRetryable('the webapp has no MANAGED_WORKER_SECRET on Railway', ErrorType.Rejected);
    return value;
  };

  const workerToken = async (installationId: string): Promise<string> => {
    const token = await deps.secrets.get(secretNames(installationId).workerToken);
    if (!token) throw ApplicationFailure.nonRetryable(`no worker token stored for "${installationId}": run deploy`, ErrorType.NotFound);
    return token;
  };

  /** Waits for the webapp's latest deployment to succeed and answer /healthcheck, within BOUNDS.webappRedeployMs. */
  const waitForWebappDeployment = async (target: RailwayVariableTarget & { serviceId: string }, apiUrl: string | undefined) => {
    const deadline = Date.now() + BOUNDS.webappRedeployMs;
    const timedOut = (what: string) =>
      ApplicationFailure.nonRetryable(`the webapp's Railway redeploy did not ${what} within ${BOUNDS.webappRedeployMs / 1000}s`, ErrorType.Unavailable);
    for (;;) {
      const latest = await railway.latestDeployment(target);
      progress({ deployment: latest?.status ?? 'none' });
      if (latest?.status === 'SUCCESS') break;
      if (latest && ['FAILED', 'CRASHED'].includes(latest.status)) {
        throw ApplicationFailure.nonRetryable(`the webapp's Railway deployment ${latest.id} ended ${latest.status}`, ErrorType.Rejected);
      }
      if (Date.now() > deadline) throw timedOut('succeed');
      await pause(deps.pollIntervalMs);
    }
    if (!apiUrl) return;
    for (;;) {
      const health = await deps.webapp(apiUrl).healthcheck();
      progress({ health: health.status ?? 'unreachable' });
      if (health.healthy) return;
      if (Date.now() > deadline) throw timedOut('answer /healthcheck');
      await pause(deps.pollIntervalMs);
    }
  };

  return {
    /** The Railway project and environment: given, else the project token's, else the controller's own. */
    async resolveRailwayTarget(input: { projectId?: string | undefined; environmentId?: string | undefined }): Promise<RailwayTarget> {
      if (input.projectId && input.environmentId) return { projectId: input.projectId, environmentId: input.environmentId };
      if (deps.projectToken) {
        const scope = await railway.resolveProjectToken();
        return { projectId: input.projectId ?? scope.projectId, environmentId: input.environmentId ?? scope.environmentId };
      }
      const projectId = input.projectId ?? deps.defaultTarget.projectId;
      const environmentId = input.environmentId ?? deps.defaultTarget.environmentId;
      if (!projectId || !environmentId) {
        throw invalidInput(
          `input.railway.${projectId ? 'environmentId' : 'projectId'} is required: pass it, set RAILWAY_PROJECT_ID and RAILWAY_ENVIRONMENT_ID, or use a project token (RAILWAY_TOKEN)`,
        );
      }
      return { projectId, environmentId };
    },

    /**
     * Checks that the Railway side can serve a remote supervisor: the template's services exist, the webapp's
     * origins, object store and registry are public, its secrets exist and are not published defaults, and it
     * answers /healthcheck. Read-only.
     */
    async preflightRailway(input: RailwayTarget & { generateMissingSecrets: boolean }) {
      const environment = await railway.getEnvironment(input.environmentId, input.projectId);
      const found = Object.fromEntries(
        Object.entries(SERVICE_KINDS).map(([kind, matches]) => [kind, environment.serviceInstances.find(matches)]),
      ) as Record<keyof typeof SERVICE_KINDS, RailwayServiceInstance | undefined>;
      const absent = Object.entries(found).filter(([, s]) => !s).map(([kind]) => kind);
      if (absent.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `Railway environment "${environment.name}" lacks the Trigger.dev template's ${absent.join(', ')} service(s) (found: ${environment.serviceInstances.map((s) => s.serviceName).join(', ') || 'none'})`,
          ErrorType.Rejected,
        );
      }
      const webapp = found.webapp as RailwayServiceInstance;
      const webappVersion = /:(v\d+\.\d+\.\d+)$/.exec(webapp.image ?? '')?.[1];
      if (!webappVersion) {
        throw ApplicationFailure.nonRetryable(
          `the webapp runs "${webapp.image ?? 'no image'}": pin a release tag such as ghcr.io/triggerdotdev/trigger.dev:v4.5.12`,
          ErrorType.Rejected,
        );
      }
      const target = { ...input, serviceId: webapp.serviceId };
      const vars = await webappVariables(target);
      const problems: string[] = [];
      const apiUrl = vars['API_ORIGIN'] || vars['APP_ORIGIN'];
      for (const [name, value] of [['APP_ORIGIN', vars['APP_ORIGIN']], ['API_ORIGIN', apiUrl], ['OBJECT_STORE_BASE_URL', vars['OBJECT_STORE_BASE_URL']]] as const) {
        const problem = publicUrlProblem(value);
        if (problem) problems.push(`${name} ${problem}`);
      }
      const registryHost = vars['DEPLOY_REGISTRY_HOST'];
      const registryProblem = publicUrlProblem(registryHost ? `https://${registryHost}` : undefined);
      if (registryProblem) problems.push(`DEPLOY_REGISTRY_HOST ${registryProblem}`);
      const insecure = REQUIRED_WEBAPP_SECRETS.filter((n) => PUBLISHED_INSECURE_DEFAULTS.has(vars[n] ?? ''));
      if (insecure.length > 0) {
        problems.push(`${insecure.join(', ')} still use published insecure defaults: rotate them on Railway (trigger-ops never rotates existing secrets)`);
      }
      const missingSecrets = REQUIRED_WEBAPP_SECRETS.filter((n) => !vars[n]);
      if (missingSecrets.length > 0 && !input.generateMissingSecrets) {
        problems.push(`${missingSecrets.join(', ')} are not set (allow options.generateMissingSecrets to create them)`);
      }
      if (problems.length > 0) {
        throw ApplicationFailure.nonRetryable(`Railway preflight: ${problems.join('; ')}`, ErrorType.Rejected);
      }
      if (missingSecrets.length === 0) {
        const health = await deps.webapp(apiUrl as string).healthcheck();
        if (!health.healthy) {
          throw ApplicationFailure.retryable(`the webapp at ${apiUrl} does not answer /healthcheck (status ${health.status ?? 'none'})`, ErrorType.Unavailable);
        }
      }
      return {
        webappServiceId: webapp.serviceId,
        webappVersion,
        apiUrl: (apiUrl as string).replace(/\/+$/, ''),
        registryHost: registryHost ?? null,
        missingSecrets: [...missingSecrets],
      };
    },

    /**
     * Generates the still-missing secrets, writes them in one variable change, waits for the redeploy and health.
     * Only ever on the webapp service of the target environment (NotOwned otherwise).
     */
    async ensureWebappSecrets(input: RailwayTarget & { installationId: string; serviceId: string; names: string[] }) {
      const target = { projectId: input.projectId, environmentId: input.environmentId, serviceId: input.serviceId };
      await assertWebappService(railway, target, input.installationId);
      const current = await railway.getVariables(target, { unrendered: true });
      const generated = Object.fromEntries(
        input.names.filter((n) => !current[n]).map((n) => [n, randomBytes(16).toString('hex')]),
      );
      if (Object.keys(generated).length > 0) await railway.upsertVariables(target, generated);
      const vars = await webappVariables(target);
      await waitForWebappDeployment(target, vars['API_ORIGIN'] || vars['APP_ORIGIN']);
      return { added: Object.keys(generated) };
    },

    /** Compensation: removes the variables a failed deploy generated (only those names, only on the webapp). */
    async removeWebappVariables(input: RailwayTarget & { installationId: string; serviceId: string; names: string[] }) {
      const target = { projectId: input.projectId, environmentId: input.environmentId, serviceId: input.serviceId };
      await assertWebappService(railway, target, input.installationId);
      const current = await railway.getVariables(target, { unrendered: true });
      const present = input.names.filter((n) => n in current);
      for (const name of present) await railway.deleteVariable(target, name);
      return { removed: present };
    },

    /**
     * Gets the installation's worker-group token into the secret store, from (in order) the store itself, the
     * webapp's admin API, TRIGGER_WORKER_TOKEN, or the bootstrap banner in the webapp's deployment logs.
     */
    async obtainWorkerToken(input: RailwayTarget & { installationId: string; webappServiceId: string; apiUrl: string }) {
      const name = secretNames(input.installationId).workerToken;
      if (await deps.secrets.get(name)) return { source: 'stored' as const };
      const admin = deps.webapp(input.apiUrl);
      const group = resourceNames(input.installationId).workerGroup;
      const created = await admin.createWorkerGroup({ name: group, description: `trigger-ops installation ${input.installationId}` }).catch((err: unknown) => {
        // Without an admin token the admin API is simply not an option; a rejected token is a real failure.
        if (err instanceof WebappApiError && err.type === ErrorType.ConfigError) return undefined;
        throw err;
      });
      if (created?.outcome === 'created') {
        await deps.secrets.put(name, created.token);
        return { source: 'admin-api' as const };
      }
      if (deps.configuredWorkerToken) {
        await deps.secrets.put(name, deps.configuredWorkerToken);
        return { source: 'configured' as const };
      }
      const deployments = await railway.listDeployments({ ...input, serviceId: input.webappServiceId, first: BOUNDS.bootstrapLogDeployments });
      for (const deployment of deployments) {
        const lines = await railway.deploymentLogs(deployment.id, { limit: 1000 });
        const banner = parseBootstrapBanner(lines.map((l) => l.message));
        if (banner) {
          await deps.secrets.put(name, banner.token);
          return { source: 'bootstrap-log' as const };
        }
      }
      throw ApplicationFailure.nonRetryable(
        created?.outcome === 'exists'
          ? `worker group "${group}" already exists and its token is shown only once: set TRIGGER_WORKER_TOKEN to it`
          : 'no worker token: set TRIGGER_ADMIN_TOKEN (an admin personal access token) or TRIGGER_WORKER_TOKEN, or set TRIGGER_BOOTSTRAP_ENABLED=1 on the webapp before its first boot',
        ErrorType.Rejected,
      );
    },

    /** Proves the stored worker token and the webapp's managed secret with one probe heartbeat (never a dequeue). */
    async probeWorkerCredentials(input: RailwayTarget & { installationId: string; webappServiceId: string; apiUrl: string }) {
      const probe = await deps.webapp(input.apiUrl).probeWorkerCredentials({
        workerToken: await workerToken(input.installationId),
        managedWorkerSecret: await managedWorkerSecret({ ...input, serviceId: input.webappServiceId }),
      });
      if (!probe.accepted) {
        throw ApplicationFailure.nonRetryable(
          `the webapp rejected the worker token or MANAGED_WORKER_SECRET (HTTP ${probe.status})`,
          ErrorType.AuthError,
        );
      }
      return { accepted: true };
    },

    /** The same release line as the webapp (reference §5c): same major and minor. */
    /**
     * Whether the webapp ever came up: a deployment that succeeded (or one that did and now sleeps). Before that, its
     * database may still need its migration chain (deploy applies it then).
     */
    async webappEverDeployed(input: RailwayTarget) {
      const environment = await railway.getEnvironment(input.environmentId, input.projectId);
      const webapp = findWebappService(environment.serviceInstances);
      if (!webapp) throw ApplicationFailure.nonRetryable(`no Trigger.dev webapp service in Railway environment "${environment.name}"`, ErrorType.NotFound);
      const up = await railway.listDeployments({ ...input, serviceId: webapp.serviceId, status: { in: ['SUCCESS', 'SLEEPING'] }, first: 1 });
      // Without a vendored chain for the webapp's release there is nothing faster to do: its own `prisma migrate
      // deploy` applies the chain at its first boot, as it would without trigger-ops.
      const version = /:(v\d+\.\d+\.\d+)$/.exec(webapp.image ?? '')?.[1];
      return { deployed: up.length > 0, webappVersion: version ?? null, chainVendored: version !== undefined && vendoredChainVersions().includes(version) };
    },

    async checkSupervisorVersion(input: { supervisorVersion: string; webappVersion: string }) {
      const line = (v: string) => v.replace(/^v/, '').split('.').slice(0, 2).join('.');
      if (line(input.supervisorVersion) !== line(input.webappVersion)) {
        throw invalidInput(
          `supervisorVersion "${input.supervisorVersion}" is not on the webapp's release line (webapp ${input.webappVersion}; accepted: v${line(input.webappVersion)}.x)`,
        );
      }
      return { compatible: true };
    },
  };
}

/** Why a URL cannot be reached from a droplet outside Railway, or undefined when it can. */
function publicUrlProblem(value: string | undefined): string | undefined {
  if (!value) return 'is not set';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL ("${value}")`;
  }
  if (url.hostname.endsWith('.railway.internal')) return `is Railway's private network (${url.hostname}), unreachable from a droplet: use the public domain`;
  if (url.hostname === 'localhost') return 'points at localhost, unreachable from a droplet: use the public domain';
  return undefined;
}
