import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import type { EncryptionCodec } from '../codec/encryption-codec';
import { UndecodableMarkingCodec } from '../codec/undecodable-codec';

type TemporalConfig = Config['temporal'];

/** One description of how to reach Temporal, shared by the client and the worker. */
export function connectionOptions(temporal: TemporalConfig, address: string): ConnectionOptions {
  const options: ConnectionOptions = { address };
  if (temporal.tls) {
    options.tls = {
      ...(temporal.tlsCertPath && temporal.tlsKeyPath
        ? { clientCertPair: { crt: readFileSync(temporal.tlsCertPath), key: readFileSync(temporal.tlsKeyPath) } }
        : {}),
      ...(temporal.tlsCaPath ? { serverRootCACertificate: readFileSync(temporal.tlsCaPath) } : {}),
    };
  }
  if (temporal.apiKey) {
    options.apiKey = temporal.apiKey;
    options.metadata = { 'temporal-namespace': temporal.namespace };
  }
  return options;
}

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** Payloads encrypted, and failure messages and stacks moved into (encrypted) payloads too. */
export function dataConverter(codec: EncryptionCodec): DataConverter {
  return {
    payloadCodecs: [codec],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/**
 * The worker's: the same, except that a payload it cannot decode becomes a value workflows refuse with its reason
 * (src/codec/undecodable-codec.ts), so a forged message never fails workflow tasks forever.
 */
export function workerDataConverter(codec: EncryptionCodec): DataConverter {
  return { ...dataConverter(codec), payloadCodecs: [new UndecodableMarkingCodec(codec)] };
}

export async function connectClient(temporal: TemporalConfig, address: string, codec: EncryptionCodec): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(temporal, address)).catch((err: unknown) => {
    throw new Error(`Cannot reach the Temporal server at ${address}: ${err instanceof Error ? err.message : String(err)}. ` +
      'Check TEMPORAL_ADDRESS (unset it to use the embedded server).');
  });
  return new Client({ connection, namespace: temporal.namespace, dataConverter: dataConverter(codec) });
}

export async function connectWorker(temporal: TemporalConfig, address: string): Promise<NativeConnection> {
  const { tls, apiKey, metadata } = connectionOptions(temporal, address);
  return NativeConnection.connect({
    address,
    ...(tls !== undefined ? { tls } : {}),
    ...(typeof apiKey === 'string' ? { apiKey } : {}),
    ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
  });
}
