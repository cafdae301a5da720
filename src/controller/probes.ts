import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { createRailwayApiFromConfig, type RailwayApi } from '../activities/railway';
import type { Config } from '../config';
import type { DesiredState } from '../shared/deploy';
import { workflowIds } from '../shared/ids';
import { statusQuery } from '../shared/installation-messages';
import type { InstallationStatus } from '../shared/lifecycle';
import type { RunningController } from '.';
import type { ReconcileState } from './reconciler';

/** The controller's own health, as /healthz reports it: Railway puts the service live on `healthy`. */
export interface HealthReport {
  readonly healthy: boolean;
  /** One line: what was checked, or what is wrong and where. */
  readonly reason: string;
}

/** Why the installation's status could not be read. */
export interface StatusUnavailable {
  /** `not-started`: the controller has no Temporal client yet (booting, or its start failed). */
  readonly kind: 'not-started' | 'not-deployed' | 'temporal-unreachable' | 'no-answer';
  readonly message: string;
}

/** What /status returns and the status page shows: the entity's status, or why there is none, and what the controller knows besides. */
export interface StatusReport {
  readonly installationId: string;
  /** ISO time this report was read. */
  readonly readAt: string;
  readonly status: InstallationStatus | null;
  /** Set exactly when `status` is null. */
  readonly unavailable: StatusUnavailable | null;
  /** A configuration problem the controller found (a refused token, a bad desired state): shown as needing a person. */
  readonly configurationError: string | null;
  /** The webapp's version on Railway (its image tag), when the controller could read it. */
  readonly webappVersion: string | null;
  /** What `trigger-ops controller`'s reconciler is doing (null when no reconciler runs, e.g. a bare worker). */
  readonly reconciler: ReconcileState | null;
}

/** The webapp's version for the installation's desired state; null when unknown. Never throws. */
export type WebappVersionReader = (desired: DesiredState | null) => Promise<string | null>;

export type HealthProvider = () => Promise<HealthReport>;
export type StatusProvider = () => Promise<StatusReport>;

/** A long poll lasts about a minute, so a live worker's last poll is never much older than this. */
export const MAX_POLL_AGE_MS = 120_000;
const DEFAULT_TIMEOUT_MS = 5_000;

const { TaskQueueType } = temporal.api.enums.v1;
const POLL_KINDS = [
  ['workflow', TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
  ['activity', TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
] as const;

/**
 * Healthy when all of: this process's worker is RUNNING, the Temporal frontend answers, and Temporal has seen this
 * worker (by its identity) poll the task queue for workflow and activity tasks recently. Each check names where it
 * failed, so the 503 says what to look at.
 */
export function createHealthProvider(options: {
  readonly client: Client;
  readonly worker: Pick<Worker, 'getState' | 'options'>;
  readonly address: string;
  readonly timeoutMs?: number;
  readonly maxPollAgeMs?: number;
}): HealthProvider {
  const { client, worker, address } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxPollAgeMs = options.maxPollAgeMs ?? MAX_POLL_AGE_MS;
  const { identity, taskQueue, namespace } = worker.options;
  return async () => {
    const state = worker.getState();
    if (state !== 'RUNNING') return { healthy: false, reason: `the worker is ${state}, not RUNNING: nothing polls task queue "${taskQueue}"` };
    const service = client.workflowService;
    try {
      const ages = await client.connection.withDeadline(Date.now() + timeoutMs, async () => {
        await service.getSystemInfo({});
        const found: Array<[string, number | undefined]> = [];
        for (const [kind, type] of POLL_KINDS) {
          const { pollers } = await service.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: type });
          const mine = (pollers ?? []).filter((p) => p.identity === identity);
          const ages = mine.map((p) => Date.now() - Number(p.lastAccessTime?.seconds ?? 0) * 1000);
          found.push([kind, ages.length > 0 ? Math.min(...ages) : undefined]);
        }
        return found;
      });
      const stale = ages.filter(([, age]) => age === undefined || age > maxPollAgeMs).map(([kind]) => kind);
      if (stale.length > 0) {
        return { healthy: false, reason: `Temporal at ${address} has no recent ${stale.join(' and ')} poll from this worker (${identity}) on task queue "${taskQueue}"` };
      }
      return { healthy: true, reason: `worker ${identity} polls task queue "${taskQueue}" and Temporal at ${address} answers` };
    } catch (err) {
      return { healthy: false, reason: `Temporal at ${address} does not answer: ${errorMessage(err)}` };
    }
  };
}

/**
 * Reads the installation entity's `status` query. Never throws: a missing entity, an unreachable Temporal or a query
 * no worker answers becomes `unavailable` with its reason, beside whatever configuration error the caller knows of.
 */
export function createStatusProvider(options: {
  readonly client: Client;
  readonly installationId: string;
  readonly configurationError?: () => string | null;
  readonly webappVersion?: WebappVersionReader;
  readonly reconciler?: () => ReconcileState;
  readonly timeoutMs?: number;
}): StatusProvider {
  const { client, installationId } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const workflowId = workflowIds.installation(installationId);
  return async () => {
    const base = {
      installationId,
      readAt: new Date().toISOString(),
      configurationError: options.configurationError?.() ?? null,
      webappVersion: null,
      reconciler: options.reconciler?.() ?? null,
    };
    try {
      const status = await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(workflowId).query(statusQuery));
      return { ...base, status, unavailable: null, webappVersion: (await options.webappVersion?.(status.desired)) ?? null };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        return { ...base, status: null, unavailable: { kind: 'not-deployed', message: `there is no installation entity ${workflowId} yet: nothing has been deployed` } };
      }
      // A query can fail because Temporal is away or because no worker answers it: ask Temporal itself which.
      const away = await client.connection
        .withDeadline(Date.now() + Math.min(timeoutMs, 2_000), () => client.workflowService.getSystemInfo({}))
        .then(() => undefined, (probe: unknown) => probe);
      if (away !== undefined) return { ...base, status: null, unavailable: { kind: 'temporal-unreachable', message: `Temporal does not answer: ${errorMessage(away)}` } };
      // DEADLINE_EXCEEDED: no worker took the query in time; FAILED_PRECONDITION: Temporal has seen no poller lately.
      const code = grpcCode(err);
      const message =
        code === 4 || code === 9
          ? `no worker answered the status query of ${workflowId} (${errorMessage(err)}): is the controller's worker running?`
          : `the status query of ${workflowId} failed: ${errorMessage(err)}`;
      return { ...base, status: null, unavailable: { kind: 'no-answer', message } };
    }
  };
}

/**
 * Reads the webapp's image tag (`…:v4.5.12`) from Railway for the desired state's project, environment and service,
 * at most once per `ttlMs` (the status page refreshes itself); on a failure it keeps the last value it read. The
 * page waits for it, so its client should time out within seconds.
 */
export function createWebappVersionReader(options: { readonly railway: Pick<RailwayApi, 'getEnvironment'>; readonly ttlMs?: number }): WebappVersionReader {
  const ttlMs = options.ttlMs ?? 60_000;
  let cached: { key: string; at: number; version: string | null } | undefined;
  return async (desired) => {
    if (!desired) return null;
    const { projectId, environmentId, webappServiceId } = desired.railway;
    const key = `${projectId}/${environmentId}/${webappServiceId}`;
    if (cached?.key === key && Date.now() - cached.at < ttlMs) return cached.version;
    try {
      const environment = await options.railway.getEnvironment(environmentId, projectId);
      const image = environment.serviceInstances.find((s) => s.serviceId === webappServiceId)?.image;
      const version = /:(v\d+\.\d+\.\d+)$/.exec(image ?? '')?.[1] ?? null;
      cached = { key, at: Date.now(), version };
      return version;
    } catch {
      return cached?.key === key ? cached.version : null;
    }
  };
}

/**
 * Both providers for a running controller and the installation it owns. With `config` holding Railway credentials,
 * the report carries the webapp's version read from Railway.
 */
export function controllerProviders(
  controller: Pick<RunningController, 'client' | 'worker' | 'temporal'>,
  installationId: string,
  options: {
    readonly configurationError?: () => string | null;
    readonly config?: Pick<Config, 'railway'>;
    readonly reconciler?: () => ReconcileState;
  } = {},
): { readonly health: HealthProvider; readonly status: StatusProvider } {
  const railway = options.config?.railway;
  const webappVersion =
    railway && (railway.apiToken || railway.projectToken)
      ? createWebappVersionReader({ railway: createRailwayApiFromConfig(railway, { timeoutMs: DEFAULT_TIMEOUT_MS }) })
      : undefined;
  return {
    health: createHealthProvider({ client: controller.client, worker: controller.worker, address: controller.temporal.address }),
    status: createStatusProvider({
      client: controller.client,
      installationId,
      ...(options.configurationError ? { configurationError: options.configurationError } : {}),
      ...(webappVersion ? { webappVersion } : {}),
      ...(options.reconciler ? { reconciler: options.reconciler } : {}),
    }),
  };
}

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 3; e = e.cause) parts.push(e.message);
  return parts.join(': ') || String(err);
}

export interface Providers {
  readonly health: HealthProvider;
  readonly status: StatusProvider;
}

/**
 * Providers for an HTTP server started before the controller runs (Railway's healthcheck and the status page answer
 * from the first second): until `attach`, /healthz says the controller is starting, or, after `fail`, why it could
 * not start, and /status says the same as `not-started`. `attach` hands over to the running controller's providers.
 */
export function lateProviders(installationId: string): Providers & { attach(providers: Providers): void; fail(reason: string): void } {
  let attached: Providers | undefined;
  let why = 'the controller is starting (Temporal server, worker)';
  return {
    health: () => (attached ? attached.health() : Promise.resolve({ healthy: false, reason: why })),
    status: () =>
      attached
        ? attached.status()
        : Promise.resolve({
            installationId,
            readAt: new Date().toISOString(),
            status: null,
            unavailable: { kind: 'not-started', message: why },
            configurationError: null,
            webappVersion: null,
            reconciler: null,
          }),
    attach(providers) {
      attached = providers;
    },
    fail(reason) {
      attached = undefined;
      why = `the controller could not start: ${reason}`;
    },
  };
}
