import { randomBytes } from 'node:crypto';
import { generateEd25519KeyPair, type SshKeyPair } from '../../remote/keys';
import { secretNames } from '../../shared/ids';
import type { SecretStore } from './store';

/**
 * An installation's keys, generated once and kept in the secret store, so that every retry and every later
 * operation uses the same controller key, expects the same droplet host key and signs with the same secret.
 */
export interface InstallationKeys {
  /** The controller's SSH key for the installation's droplets (public half registered at DigitalOcean). */
  controllerKey(installationId: string): Promise<SshKeyPair>;
  /** The droplets' SSH host key: given to cloud-init, pinned by the controller. */
  hostKey(installationId: string): Promise<SshKeyPair>;
  /** The supervisor's WORKLOAD_TOKEN_SECRET (64 hex characters): signs the deployment token of every runner. */
  workloadTokenSecret(installationId: string): Promise<string>;
}

export function createInstallationKeys(store: SecretStore): InstallationKeys {
  const getOrCreate = async (name: string, comment: string): Promise<SshKeyPair> => {
    const stored = await store.get(name);
    if (stored) return JSON.parse(stored) as SshKeyPair;
    const pair = generateEd25519KeyPair(comment);
    await store.put(name, JSON.stringify(pair));
    return pair;
  };
  return {
    controllerKey: (id) => getOrCreate(secretNames(id).controllerSshKey, `trigger-ops-${id}`),
    hostKey: (id) => getOrCreate(secretNames(id).hostKey, `tops-${id}-host`),
    workloadTokenSecret: async (id) => {
      const name = secretNames(id).workloadTokenSecret;
      const stored = await store.get(name);
      if (stored) return stored;
      const secret = randomBytes(32).toString('hex');
      await store.put(name, secret);
      return secret;
    },
  };
}
