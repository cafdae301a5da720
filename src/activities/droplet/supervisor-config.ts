import { ApplicationFailure } from '@temporalio/activity';
import { buildDesiredSupervisorEnv, buildSupervisorCompose, configHash } from '../../remote/compose';
import { ErrorType } from '../../shared/errors';
import { secretNames } from '../../shared/ids';
import type { Droplet } from '../digitalocean/client';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { SecretStore } from '../secrets/store';

export interface SupervisorConfigSources {
  readonly installationId: string;
  readonly supervisorVersion: string;
  readonly apiUrl: string;
  /** The webapp's Railway variables (MANAGED_WORKER_SECRET, DEPLOY_REGISTRY_*), read by the caller. */
  readonly webappVariables: Readonly<Record<string, string>>;
  /** DigitalOcean's record of the droplet: its name and size go into the .env. */
  readonly droplet: Pick<Droplet, 'name' | 'vcpus' | 'memoryMb'>;
  readonly dockerApiVersion: string;
}

export interface SupervisorConfig {
  readonly env: string;
  readonly compose: string;
  /** What the agent reports as config.hash once this configuration is applied. */
  readonly hash: string;
}

/**
 * The one builder of the supervisor's configuration: applySupervisorConfig writes it and the heal check hashes it to
 * detect drift, from the same sources, so the two cannot disagree. Secrets are resolved here, at the point of use.
 */
export async function desiredSupervisorConfig(
  deps: { readonly secrets: SecretStore; readonly keys: InstallationKeys },
  sources: SupervisorConfigSources,
): Promise<SupervisorConfig> {
  const workerToken = await deps.secrets.get(secretNames(sources.installationId).workerToken);
  if (!workerToken) throw ApplicationFailure.nonRetryable(`no worker token stored for "${sources.installationId}"`, ErrorType.NotFound);
  if (!sources.webappVariables['MANAGED_WORKER_SECRET']) throw ApplicationFailure.nonRetryable('the webapp has no MANAGED_WORKER_SECRET', ErrorType.Rejected);
  const env = buildDesiredSupervisorEnv({
    supervisorVersion: sources.supervisorVersion,
    apiUrl: sources.apiUrl,
    workerToken,
    workloadTokenSecret: await deps.keys.workloadTokenSecret(sources.installationId),
    webappVariables: sources.webappVariables,
    droplet: sources.droplet,
    dockerApiVersion: sources.dockerApiVersion,
  });
  const compose = buildSupervisorCompose();
  return { env, compose, hash: configHash(compose, env) };
}
