import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { BOUNDS } from './shared/activity-contract';
import { createDigitalOceanApi } from './activities/digitalocean/client';
import { createRailwayApiFromConfig } from './activities/railway';
import { createFileSecretStore, createRailwaySecretCopy, Redactor, withSecretCopy, type SecretStore } from './activities/secrets';
import type { RailwayApi } from './activities/railway/api';
import { connectDroplet } from './activities/ssh/client';
import { readCaCerts } from './activities/tls-trust';
import { createWebappClient } from './activities/trigger';
import type { EncryptionCodec } from './codec/encryption-codec';
import { SECRET_ENV_NAMES, type Config } from './config';
import { ErrorType } from './shared/errors';
import { connectClient, workerDataConverter } from './temporal/connection';

export const WORKFLOWS_PATH = require.resolve('./workflows');

export interface CreateWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly codec: EncryptionCodec;
  readonly deps: ActivityDeps;
  /** A pre-built bundle (tests, production image); otherwise the workflows are bundled from source at start. */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
  /** Workflows kept in memory (TRIGGER_OPS_MAX_CACHED_WORKFLOWS); default 150. */
  readonly maxCachedWorkflows?: number;
}

/** The worker: activities from their dependencies, workflows, the codec, and limits for a low-volume controller. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    dataConverter: workerDataConverter(options.codec),
    maxConcurrentActivityTaskExecutions: 20,
    // About 1-2 MB each (the scale bench: 1,000 cached installations took the worker past 2.5 GB). An installation
    // that is not cached replays its history on its next heal, which continue-as-new keeps short.
    maxCachedWorkflows: options.maxCachedWorkflows ?? 150,
    // For every worker on the queue together. A heal check (one activity a minute per installation) makes no
    // DigitalOcean request of its own while healthy (the shared list), so 1,000 installations need ~17 a second;
    // DigitalOcean's own 250 a minute is kept by that sharing, and a 429 waits for retry-after (RETRY.call).
    maxTaskQueueActivitiesPerSecond: 40,
    // Time for an SSH step to finish on shutdown.
    shutdownGraceTime: '20 seconds',
    shutdownForceTime: '30 seconds',
  });
}

/** The composition root: config → real clients (the sandbox's, when config points there) → activity dependencies. */
export function activityDepsFromConfig(
  config: Config,
  codec: EncryptionCodec,
  options: { readonly temporalClient?: () => Promise<Client> } = {},
): ActivityDeps {
  const redactor = new Redactor();
  // Schedules and the installation hand-over talk to the same Temporal service the worker polls; connected on first use.
  let client: Promise<Client> | undefined;
  const temporalClient =
    options.temporalClient ??
    (() =>
      (client ??= connectClient(config.temporal, config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`, codec).catch(
        (err: unknown) => {
          client = undefined;
          throw err;
        },
      )));
  for (const name of SECRET_ENV_NAMES) redactor.add(config.env[name]);
  const { digitalocean, railway, trigger } = config;
  // Read once, here: a missing or unreadable file stops the worker at start with the variable's name.
  const ca = config.caCertsPath === undefined ? undefined : readCaCerts(config.caCertsPath);
  const railwayApi: RailwayApi =
    railway.apiToken || railway.projectToken
      ? createRailwayApiFromConfig(railway, { timeoutMs: BOUNDS.railwayRequestMs })
      : unconfigured('Railway', 'RAILWAY_API_TOKEN or RAILWAY_TOKEN');
  return {
    dataDir: config.dataDir,
    codecKeyId: codec.keyId,
    digitalocean: digitalocean.token
      ? createDigitalOceanApi({
          token: digitalocean.token,
          apiUrl: digitalocean.apiUrl,
          timeoutMs: BOUNDS.digitaloceanRequestMs,
          ...(ca === undefined ? {} : { ca }),
        })
      : unconfigured('DigitalOcean', 'DIGITALOCEAN_TOKEN'),
    railway: railwayApi,
    webapp: (baseUrl) => createWebappClient({ baseUrl, adminToken: trigger.adminToken, timeoutMs: BOUNDS.webappRequestMs }),
    connectDroplet: ({ host, privateKey, pinnedHostKey }) =>
      connectDroplet({ host, port: config.droplet.sshPort, username: 'root', privateKey, pinnedHostKey, timeoutMs: BOUNDS.sshConnectMs }),
    secrets: secretStoreFromConfig(config, railwayApi, redactor),
    redactor,
    sealer: codec.sealer(),
    railwayDefaults: { projectId: railway.projectId, environmentId: railway.environmentId },
    railwayProjectToken: Boolean(railway.projectToken),
    controllerOnRailway: { projectId: railway.projectId, environmentId: railway.environmentId, privateDomain: railway.privateDomain },
    configuredWorkerToken: trigger.workerToken,
    pollIntervalMs: config.pollIntervalMs,
    createSettleMs: config.digitalocean.createSettleSeconds * 1000,
    temporalClient,
  };
}

/**
 * The local 0600 file; on Railway (its own service id, a Railway token and TRIGGER_OPS_SECRET_KEY known) backed by an
 * encrypted copy in the controller service's variables, so a lost volume loses no key or token.
 */
export function secretStoreFromConfig(config: Config, railway: RailwayApi, redactor: Redactor): SecretStore {
  const local = createFileSecretStore(join(config.dataDir, 'secrets.json'), redactor);
  const serviceId = config.railway.serviceId;
  if (!config.secretKey || !serviceId || !(config.railway.apiToken || config.railway.projectToken)) return local;
  const { projectId, environmentId } = config.railway;
  const copy = createRailwaySecretCopy({
    railway,
    key: config.secretKey,
    target: async () =>
      projectId && environmentId ? { projectId, environmentId, serviceId } : { ...(await railway.resolveProjectToken()), serviceId },
  });
  return withSecretCopy(local, copy, redactor);
}

/** A client that fails every call with a clear, non-retryable configuration error. */
function unconfigured<T extends object>(system: string, variable: string): T {
  return new Proxy({} as T, {
    get: () => () =>
      Promise.reject(ApplicationFailure.nonRetryable(`${system} is not configured: set ${variable}`, ErrorType.ConfigError)),
  });
}
