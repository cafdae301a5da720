import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RailwayApi, RailwayVariableTarget } from '../railway/api';
import type { Redactor } from './redactor';
import type { SecretStore } from './store';

/** Names of the controller-service variables that hold the copy: `TRIGGER_OPS_SECRET_<24 hex of sha256(name)>`. */
export const SECRET_VARIABLE_PREFIX = 'TRIGGER_OPS_SECRET_';
const FORMAT = 'v1';
const sealedSchema = z.union([
  z.object({ name: z.string().min(1), value: z.string() }).strict(),
  // A forgotten secret. Railway's variableDelete has no skipDeploys, so deleting the variable would redeploy the
  // controller in the middle of the teardown that forgets it; an upsert with skipDeploys does not.
  z.object({ name: z.string().min(1), deleted: z.literal(true) }).strict(),
]);

export function secretVariableName(secretName: string): string {
  return `${SECRET_VARIABLE_PREFIX}${createHash('sha256').update(secretName).digest('hex').slice(0, 24).toUpperCase()}`;
}

/**
 * The secret store's durable copy: one ordinary variable per secret on the controller's own Railway service, each
 * sealed with AES-256-GCM under a key derived from TRIGGER_OPS_SECRET_KEY (the variable's name is the associated data,
 * so a value moved to another name does not open). Public API tokens cannot create sealed Railway variables, and sealed
 * values cannot be read back, so ciphertext in plain variables is what survives the loss of the volume. Every write
 * uses skipDeploys: the controller is not redeployed by keeping its own secrets.
 */
export interface SecretCopy {
  /** Every secret the copy holds (forgotten ones left out), and the variables that do not open with this key. */
  readAll(): Promise<{ readonly secrets: Map<string, string>; readonly unreadable: readonly string[] }>;
  put(name: string, value: string): Promise<void>;
  forget(names: readonly string[]): Promise<void>;
}

export interface RailwaySecretCopyOptions {
  readonly railway: RailwayApi;
  /** The controller's own service; resolved on first use (a project token names its project and environment). */
  readonly target: () => Promise<RailwayVariableTarget & { readonly serviceId: string }>;
  readonly key: string;
}

export function createRailwaySecretCopy(options: RailwaySecretCopyOptions): SecretCopy {
  const key = Buffer.from(hkdfSync('sha256', options.key, 'trigger-ops', 'secret-store-copy v1', 32));
  const seal = (variable: string, payload: z.input<typeof sealedSchema>): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(variable));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  };
  /** The sealed payload, or undefined when it does not open with this key (another key, or a changed value). */
  const open = (variable: string, sealed: string): z.output<typeof sealedSchema> | undefined => {
    const [format, data] = sealed.split(':');
    if (format !== FORMAT || data === undefined) return undefined;
    const raw = Buffer.from(data, 'base64');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12)).setAAD(Buffer.from(variable));
      decipher.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      const parsed = sealedSchema.safeParse(JSON.parse(plain));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };
  let target: ReturnType<RailwaySecretCopyOptions['target']> | undefined;
  const where = () => (target ??= options.target().catch((err: unknown) => {
    target = undefined;
    throw err;
  }));

  return {
    async readAll() {
      const variables = await options.railway.getVariables(await where(), { unrendered: true });
      const secrets = new Map<string, string>();
      const unreadable: string[] = [];
      for (const [variable, sealed] of Object.entries(variables)) {
        if (!variable.startsWith(SECRET_VARIABLE_PREFIX)) continue;
        const payload = open(variable, sealed);
        if (payload === undefined || secretVariableName(payload.name) !== variable) unreadable.push(variable);
        else if ('value' in payload) secrets.set(payload.name, payload.value);
      }
      return { secrets, unreadable };
    },
    async put(name, value) {
      const variable = secretVariableName(name);
      await options.railway.upsertVariables(await where(), { [variable]: seal(variable, { name, value }) }, { skipDeploys: true });
    },
    async forget(names) {
      if (names.length === 0) return;
      const tombstones = Object.fromEntries(names.map((name) => {
        const variable = secretVariableName(name);
        return [variable, seal(variable, { name, deleted: true })];
      }));
      await options.railway.upsertVariables(await where(), tombstones, { skipDeploys: true });
    },
  };
}

/** A secret store whose local file is backed by a durable copy, and the boot step that refills it from there. */
export interface BackedSecretStore extends SecretStore {
  /** Puts every secret of the copy that the local store lacks into it. */
  restore(): Promise<{ readonly restored: number; readonly unreadable: readonly string[] }>;
}

/**
 * Writes go to the copy first: a generator that finds its secret in the local store never writes it again, so a value
 * must be durable before it is local (a write whose local half failed is found in the copy by the retry's `get`).
 */
export function withSecretCopy(local: SecretStore, copy: SecretCopy, redactor: Redactor): BackedSecretStore {
  const fromCopy = async (name: string): Promise<string | undefined> => {
    const value = (await copy.readAll()).secrets.get(name);
    if (value !== undefined) await local.put(name, value);
    return value;
  };
  return {
    async get(name) {
      return (await local.get(name)) ?? fromCopy(name);
    },
    async put(name, value) {
      redactor.add(value);
      await copy.put(name, value);
      await local.put(name, value);
    },
    async delete(name) {
      await copy.forget([name]);
      await local.delete(name);
    },
    async deletePrefix(prefix) {
      const names = [...(await copy.readAll()).secrets.keys()].filter((n) => n.startsWith(prefix));
      await copy.forget(names);
      return Math.max(names.length, await local.deletePrefix(prefix));
    },
    async restore() {
      const { secrets, unreadable } = await copy.readAll();
      let restored = 0;
      for (const [name, value] of secrets) {
        if ((await local.get(name)) !== undefined) continue;
        await local.put(name, value);
        restored += 1;
      }
      return { restored, unreadable };
    },
  };
}
