import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config';
import { startCodecServer, type CodecServer } from '../codec/codec-server';
import { EncryptionCodec, resolveCodecKey } from '../codec/encryption-codec';
import { connectClient, connectWorker } from '../temporal/connection';
import type { SecretStore } from '../activities/secrets';
import { activityDepsFromConfig, createWorker } from '../worker';
import { findOrInstallTemporal } from './temporal-cli';
import { startDevServer, type DevServer } from './temporal-dev-server';

export interface TemporalEndpoint {
  readonly address: string;
  readonly uiUrl: string | undefined;
  /** Set when we started the embedded server and must stop it. */
  readonly devServer: DevServer | undefined;
  /** The codec server the embedded UI decodes payloads through (and `temporal --codec-endpoint` can use). */
  readonly codecServer: CodecServer | undefined;
}

/** The configured Temporal server, or the embedded dev server (SQLite under the data dir) when none is configured. */
export async function resolveTemporal(config: Config, log: (m: string) => void): Promise<TemporalEndpoint> {
  if (config.temporal.address) return { address: config.temporal.address, uiUrl: undefined, devServer: undefined, codecServer: undefined };
  const cliPath = findOrInstallTemporal({ configuredPath: config.temporal.cliPath, log });
  const dbFilename = join(config.dataDir, 'temporal.sqlite');
  log(`starting the embedded Temporal server (state in ${dbFilename})`);
  const uiOrigins = [`http://127.0.0.1:${config.temporal.devUiPort}`, `http://localhost:${config.temporal.devUiPort}`];
  const codecServer = await startCodecServer(loadCodec(config), { allowedOrigins: uiOrigins });
  const devServer = await startDevServer({
    cliPath,
    dbFilename,
    port: config.temporal.devPort,
    uiPort: config.temporal.devUiPort,
    namespace: config.temporal.namespace,
    extraArgs: ['--ui-codec-endpoint', codecServer.url],
    detached: true,
    pidFile: join(config.dataDir, 'temporal.pid'),
  }).catch(async (err: unknown) => {
    await codecServer.close();
    throw new Error(
      `The embedded Temporal server did not start on port ${config.temporal.devPort}: ` +
        `${err instanceof Error ? err.message : String(err)}\n` +
        'Is another Temporal server using the port? Stop it, set TEMPORAL_DEV_PORT, or point TEMPORAL_ADDRESS at it.',
    );
  });
  return { address: devServer.address, uiUrl: devServer.uiUrl, devServer, codecServer };
}

export function loadCodec(config: Config): EncryptionCodec {
  return new EncryptionCodec(resolveCodecKey(config.codecKey, config.dataDir));
}

export interface RunningController {
  readonly temporal: TemporalEndpoint;
  readonly client: Client;
  readonly worker: Worker;
  /** The activities' secret store (backed by its Railway copy when configured: `restore` refills it from there). */
  readonly secrets: SecretStore & { restore?: () => Promise<{ restored: number; unreadable: readonly string[] }> };
  /** Resolves when the worker has stopped. */
  readonly running: Promise<void>;
  /** Stops the worker, closes connections and stops the embedded server if we started it. */
  stop(): Promise<void>;
}

/**
 * A server whose port is open can still answer "Frontend is not healthy yet" for a few seconds (the embedded one just
 * after start, a cluster while it rolls): connecting is retried for up to a minute before the controller gives up.
 */
async function untilTemporalAnswers<T>(connect: () => Promise<T>, log: (m: string) => void): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (Date.now() > deadline || !/unavailable|not healthy|ECONNREFUSED|deadline/i.test(message)) throw err;
      if (attempt === 1) log(`Temporal is not answering yet (${message.split('\n')[0]}); trying again for up to a minute`);
      await sleep(Math.min(2000, 250 * attempt));
    }
  }
}

/** Temporal (embedded or configured) + a worker on the task queue + a client, as one unit with one stop. */
export async function startController(config: Config, log: (m: string) => void): Promise<RunningController> {
  const temporal = await resolveTemporal(config, log);
  let connection: NativeConnection | undefined;
  try {
    const codec = loadCodec(config);
    connection = await untilTemporalAnswers(() => connectWorker(config.temporal, temporal.address), log);
    const deps = activityDepsFromConfig(config, codec);
    const worker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      codec,
      deps,
      maxCachedWorkflows: config.maxCachedWorkflows,
      ...(config.workflowBundle ? { workflowBundle: { codePath: config.workflowBundle } } : {}),
    });
    const client = await connectClient(config.temporal, temporal.address, codec);
    const running = worker.run();
    const workerConnection = connection;
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await client.connection.close();
        await workerConnection.close();
        await temporal.devServer?.stop();
        await temporal.codecServer?.close();
      })();
      return stopped;
    };
    return { temporal, client, worker, secrets: deps.secrets, running, stop };
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await temporal.devServer?.stop();
    await temporal.codecServer?.close();
    throw err;
  }
}
