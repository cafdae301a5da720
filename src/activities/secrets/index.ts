import { secretNames } from '../../shared/ids';
import type { SecretStore } from './store';

export { Redactor } from './redactor';
export { createFileSecretStore, type SecretStore } from './store';
export { createRailwaySecretCopy, withSecretCopy, SECRET_VARIABLE_PREFIX, type BackedSecretStore, type SecretCopy } from './railway-copy';
export { createInstallationKeys, type InstallationKeys } from './installation-keys';

export function createSecretActivities(deps: { readonly secrets: SecretStore }) {
  return {
    /** Forgets every secret of an installation (teardown). */
    async forgetInstallationSecrets(input: { installationId: string }) {
      const prefix = secretNames(input.installationId).workerToken.replace(/[^/]+$/, '');
      return { forgotten: await deps.secrets.deletePrefix(prefix) };
    },
  };
}
