import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { findOrInstallTemporal } from '../../src/controller/temporal-cli';
import { startDevServer, type DevServer } from '../../src/controller/temporal-dev-server';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/connection';
import { WORKFLOWS_PATH } from '../../src/worker';
import { freePort } from './ports';

/** Fixed key for recorded histories in test/replay: a test fixture, not a secret. */
export const TEST_CODEC_KEY = Buffer.from('dHJpZ2dlci1vcHMtdGVzdC1jb2RlYy1rZXktMzJieXQ=', 'base64');

let runtimeInstalled = false;
/** Keeps SDK chatter (webpack, worker state) out of test output. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export interface TestTemporal {
  readonly address: string;
  readonly namespace: string;
  readonly client: Client;
  readonly connection: NativeConnection;
  readonly codec: EncryptionCodec;
  readonly taskQueue: string;
  /** The process id of the server this file started, undefined on the shared one. */
  readonly serverPid: number | undefined;
  /**
   * Stops the server and starts it again on the same port and database file (only with `dbFilename`): clients and
   * workers see it go away and come back, as with a restarted Temporal service.
   */
  restartServer?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real Temporal dev server for one test file: the shared one started by scripts/run-tests (TEMPORAL_TEST_ADDRESS),
 * or one of its own when a file is run alone or needs special dynamic config.
 */
export async function startTestTemporal(
  options: { extraArgs?: string[]; codecKey?: Buffer; taskQueue?: string; dbFilename?: string } = {},
): Promise<TestTemporal> {
  quietRuntime();
  let server: DevServer | undefined;
  let address = options.extraArgs || options.dbFilename ? undefined : process.env['TEMPORAL_TEST_ADDRESS'];
  const port = await freePort();
  const start = () =>
    startDevServer({
      cliPath: findOrInstallTemporal({ configuredPath: process.env['TEMPORAL_CLI_PATH'] }),
      port,
      dbFilename: options.dbFilename,
      extraArgs: options.extraArgs ?? [],
    });
  if (!address) {
    server = await start();
    address = server.address;
  }
  const codec = new EncryptionCodec(options.codecKey ?? randomBytes(32));
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: 'default', dataConverter: dataConverter(codec) });
  return {
    address,
    namespace: 'default',
    client,
    connection,
    codec,
    taskQueue: options.taskQueue ?? `test-${randomBytes(4).toString('hex')}`,
    get serverPid() {
      return server?.pid;
    },
    ...(options.dbFilename
      ? {
          async restartServer() {
            await server?.stop();
            server = await start();
          },
        }
      : {}),
    async close() {
      await clientConnection.close();
      await connection.close();
      await server?.stop();
    },
  };
}

let bundle: Promise<WorkflowBundle> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}
