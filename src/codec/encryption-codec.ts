import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../shared/errors';
import { createSealer, type Sealer } from './sealed-value';

const ENCODING = 'binary/encrypted';
const ALGORITHM = 'aes-256-gcm';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/**
 * Encrypts every payload (inputs, results, heartbeat details, failure attributes) with AES-256-GCM before it
 * leaves the process, so Temporal's history holds ciphertext only. Runs on client and worker alike.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new ConfigError('TRIGGER_OPS_CODEC_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32).');
    this.#key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 12);
  }

  /** Seals single credentials with a key derived from this one (see sealed-value.ts). */
  sealer(): Sealer {
    return createSealer(this.#key);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_LENGTH);
      const cipher = createCipheriv(ALGORITHM, this.#key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: Buffer.from(ENCODING),
          'encryption-key-id': Buffer.from(this.keyId),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCODING || !payload.data) return payload;
      const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
      if (!keyId) throw new Error(`Payload is marked ${ENCODING} but names no encryption-key-id: it was not encrypted by trigger-ops.`);
      if (keyId !== this.keyId) {
        throw new ConfigError(`Payload was encrypted with key ${keyId}, but this process has key ${this.keyId}: set the same TRIGGER_OPS_CODEC_KEY everywhere.`);
      }
      const data = Buffer.from(payload.data);
      try {
        const iv = data.subarray(0, IV_LENGTH);
        const tag = data.subarray(data.length - TAG_LENGTH);
        const decipher = createDecipheriv(ALGORITHM, this.#key, iv);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(data.subarray(IV_LENGTH, data.length - TAG_LENGTH)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain);
      } catch {
        throw new Error(`Payload names key ${keyId} but does not decrypt with it: it is corrupt or forged.`);
      }
    });
  }
}

/**
 * The configured key, or for local use a key generated once into the data directory (0600) so that the embedded
 * server's history stays readable across restarts.
 */
export function resolveCodecKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return decodeKey(configured);
  const path = join(dataDir, 'codec.key');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  }
  chmodSync(path, 0o600);
  return decodeKey(readFileSync(path, 'utf8').trim());
}

function decodeKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new ConfigError('TRIGGER_OPS_CODEC_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32).');
  return key;
}
