import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config';
import { startCodecServer, type CodecServer } from '../codec/codec-server';
import { EncryptionCodec, resolveCodecKey } from '../codec/encryption-codec';
import { connectClient, connectWorker } from '../temporal/connection';
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
  /** Resolves when the worker has stopped. */
  readonly running: Promise<void>;
  /** Stops the worker, closes connections and stops the embedded server if we started it. */
  stop(): Promise<void>;
}

/** Temporal (embedded or configured) + a worker on the task queue + a client, as one unit with one stop. */
export async function startController(config: Config, log: (m: string) => void): Promise<RunningController> {
  const temporal = await resolveTemporal(config, log);
  let connection: NativeConnection | undefined;
  try {
    const codec = loadCodec(config);
    connection = await connectWorker(config.temporal, temporal.address);
    const worker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      codec,
      deps: activityDepsFromConfig(config, codec),
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
    return { temporal, client, worker, running, stop };
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await temporal.devServer?.stop();
    await temporal.codecServer?.close();
    throw err;
  }
}
