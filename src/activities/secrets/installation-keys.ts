import { generateEd25519KeyPair, type SshKeyPair } from '../../remote/keys';
import { secretNames } from '../../shared/ids';
import type { SecretStore } from './store';

/**
 * An installation's key pairs, generated once and kept in the secret store, so that every retry and every later
 * operation uses the same controller key and expects the same droplet host key.
 */
export interface InstallationKeys {
  /** The controller's SSH key for the installation's droplets (public half registered at DigitalOcean). */
  controllerKey(installationId: string): Promise<SshKeyPair>;
  /** The droplets' SSH host key: given to cloud-init, pinned by the controller. */
  hostKey(installationId: string): Promise<SshKeyPair>;
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
  };
}
