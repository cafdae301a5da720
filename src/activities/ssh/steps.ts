import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import {
  agentApplyCommand,
  agentStatusCommand,
  agentStopCommand,
  agentWaitCloudInitCommand,
  parseAgentOutput,
  type AgentStatus,
} from '../../remote/agent-commands';
import { buildSupervisorCompose, buildSupervisorEnv } from '../../remote/compose';
import { ErrorType } from '../../shared/errors';
import { resourceNames, secretNames } from '../../shared/ids';
import type { DigitalOceanApi } from '../digitalocean/client';
import type { RailwayApi } from '../railway/api';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { SecretStore } from '../secrets/store';
import type { DropletConnection } from './client';
import { createAgentSession } from './agent-session';
import { HostKeyMismatchError, SshAuthError, SshUnavailableError } from './errors';

export interface DropletStepDeps {
  /** Opens an SSH session to a droplet, pinned to the installation's host key. */
  readonly connect: (input: { readonly host: string; readonly privateKey: string; readonly pinnedHostKey: string }) => Promise<DropletConnection>;
  readonly keys: InstallationKeys;
  readonly secrets: SecretStore;
  readonly railway: RailwayApi;
  readonly digitalocean: DigitalOceanApi;
  readonly pollIntervalMs: number;
}

/** Steps that run on the droplet, always through the agent and always over SSH with the pinned host key. */
export function createDropletActivities(deps: DropletStepDeps) {
  const { session, agent } = createAgentSession(deps);

  const status = (installationId: string, ipv4: string) =>
    session(installationId, ipv4, (c) => agent(c, 'status', agentStatusCommand(), 30_000));

  return {
    /** Waits for SSH (refused while booting) and then for cloud-init to finish; a cloud-init error is final. */
    async waitForCloudInit(input: { installationId: string; ipv4: string; timeoutSeconds: number }) {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let lastError = 'no answer yet';
      while (Date.now() < deadline) {
        heartbeat({ waiting: lastError });
        try {
          const remaining = Math.max(5, Math.ceil((deadline - Date.now()) / 1000));
          return await session(input.installationId, input.ipv4, async (c) => {
            const cmd = agentWaitCloudInitCommand({ timeoutSeconds: Math.min(remaining, 60) });
            const result = await c.run(cmd.command, { timeoutMs: (Math.min(remaining, 60) + 15) * 1000 });
            const out = parseAgentOutput('wait-cloud-init', result.stdout);
            if (out.ok) return { cloudInit: 'done' as const };
            if (/error|fail/i.test(out.error) && !/timed out|running|not found|No such file/i.test(out.error)) {
              throw ApplicationFailure.nonRetryable(`cloud-init failed on ${input.ipv4}: ${out.error}`, ErrorType.Rejected);
            }
            throw new SshUnavailableError(`cloud-init not done yet: ${out.error}`, undefined);
          });
        } catch (err) {
          if (err instanceof HostKeyMismatchError || err instanceof ApplicationFailure) throw err;
          // While the droplet boots, sshd may refuse connections or not yet know our key.
          if (!(err instanceof SshUnavailableError) && !(err instanceof SshAuthError)) throw err;
          lastError = err.message;
          await sleep(deps.pollIntervalMs);
        }
      }
      throw ApplicationFailure.nonRetryable(
        `droplet ${input.ipv4} was not ready after ${input.timeoutSeconds}s (last: ${lastError})`,
        ErrorType.Unavailable,
      );
    },

    /**
     * Writes the supervisor's compose file and .env (0600) through the agent and starts it. Secrets are resolved
     * here, at the point of use, and travel only over the verified SSH session on stdin.
     */
    async applySupervisorConfig(input: {
      installationId: string;
      ipv4: string;
      projectId: string;
      environmentId: string;
      webappServiceId: string;
      supervisorVersion: string;
      apiUrl: string;
    }) {
      const vars = await deps.railway.getVariables({ projectId: input.projectId, environmentId: input.environmentId, serviceId: input.webappServiceId });
      const workerToken = await deps.secrets.get(secretNames(input.installationId).workerToken);
      if (!workerToken) throw ApplicationFailure.nonRetryable(`no worker token stored for "${input.installationId}"`, ErrorType.NotFound);
      const managedWorkerSecret = vars['MANAGED_WORKER_SECRET'];
      if (!managedWorkerSecret) throw ApplicationFailure.nonRetryable('the webapp has no MANAGED_WORKER_SECRET', ErrorType.Rejected);
      const registryHost = vars['DEPLOY_REGISTRY_HOST'];
      const registryUser = vars['DEPLOY_REGISTRY_USERNAME'];
      const registryPassword = vars['DEPLOY_REGISTRY_PASSWORD'];
      const env = buildSupervisorEnv({
        imageTag: input.supervisorVersion,
        apiUrl: input.apiUrl,
        workerToken,
        managedWorkerSecret,
        workerInstanceName: resourceNames(input.installationId).workerInstanceName,
        ...(registryHost && registryUser && registryPassword
          ? { registry: { url: registryHost, username: registryUser, password: registryPassword } }
          : {}),
      });
      const compose = buildSupervisorCompose();
      const applied = await session(input.installationId, input.ipv4, (c) => agent(c, 'apply', agentApplyCommand({ env, compose }), 600_000));
      return { configHash: applied.hash, changed: applied.changed, tag: applied.tag };
    },

    /**
     * The health gate: the supervisor container runs the expected tag, is not restarting, logged "Connected to
     * platform" since it started, and its restart count holds still across two looks.
     */
    async waitForSupervisorHealthy(input: { installationId: string; ipv4: string; supervisorVersion: string; timeoutSeconds: number }) {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let previousRestarts: number | null | undefined;
      let last = 'no status yet';
      while (Date.now() < deadline) {
        const s = await status(input.installationId, input.ipv4).catch((err: unknown) => {
          if (err instanceof HostKeyMismatchError) throw err;
          last = err instanceof Error ? err.message : String(err);
          return undefined;
        });
        if (s) {
          last = describeSupervisor(s);
          heartbeat({ supervisor: last });
          const sup = s.supervisor;
          const healthy = Boolean(
            sup?.running && !sup.restarting && sup.connectedToPlatform && sup.tag === input.supervisorVersion && sup.health !== 'unhealthy',
          );
          if (healthy && previousRestarts === sup?.restartCount) {
            return { healthy: true, restartCount: sup?.restartCount ?? 0, tag: sup?.tag ?? null, configHash: s.config.hash };
          }
          previousRestarts = healthy ? sup?.restartCount : undefined;
        }
        await sleep(deps.pollIntervalMs);
      }
      throw ApplicationFailure.nonRetryable(
        `supervisor on ${input.ipv4} was not healthy within ${input.timeoutSeconds}s: ${last}`,
        ErrorType.Unavailable,
      );
    },

    /** One look at the droplet through the agent (the heal check and `status` use it). */
    async observeDroplet(input: { installationId: string; ipv4: string }) {
      return status(input.installationId, input.ipv4);
    },

    /** Stops the supervisor on every reachable droplet of the installation (before they are deleted). */
    async stopSupervisors(input: { installationId: string }) {
      const droplets = await deps.digitalocean.listDropletsByTag(resourceNames(input.installationId).tag);
      let stopped = 0;
      for (const droplet of droplets) {
        if (!droplet.publicIpv4 || droplet.status !== 'active') continue;
        try {
          await session(input.installationId, droplet.publicIpv4, (c) => agent(c, 'stop', agentStopCommand(), 60_000));
          stopped += 1;
        } catch (err) {
          // A droplet that cannot be reached is about to be deleted anyway; a wrong host key gets no command.
          heartbeat({ skipped: droplet.name, reason: err instanceof Error ? err.message : String(err) });
        }
      }
      return { stopped };
    },
  };
}

function describeSupervisor(s: AgentStatus): string {
  if (!s.docker.running) return `docker is not running (${s.docker.error ?? 'no detail'})`;
  const sup = s.supervisor;
  if (!sup || !sup.exists) return 'no supervisor container';
  const parts = [`${sup.state ?? 'unknown'}`, `tag ${sup.tag ?? '?'}`, `restarts ${sup.restartCount ?? '?'}`];
  if (sup.health) parts.push(`health ${sup.health}`);
  parts.push(sup.connectedToPlatform ? 'connected to platform' : 'not connected to platform');
  if (sup.lastFailedToConnect) parts.push(`last error: ${sup.lastFailedToConnect}`);
  return parts.join(', ');
}
