import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import {
  agentPruneCommand,
  agentRestartCommand,
  agentRollbackCommand,
  agentStatusCommand,
  agentStopCommand,
  agentUpgradeCommand,
  shellQuote,
  type AgentCommand,
  type AgentStatus,
} from '../../remote/agent-commands';
import { buildSupervisorCompose, buildSupervisorEnv, configHash } from '../../remote/compose';
import { ErrorType } from '../../shared/errors';
import { resourceNames, secretNames } from '../../shared/ids';
import type { Observation } from '../../shared/lifecycle';
import { DigitalOceanApiError } from '../digitalocean/errors';
import type { DigitalOceanApi } from '../digitalocean/client';
import type { RailwayApi } from '../railway/api';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { SecretStore } from '../secrets/store';
import type { DropletConnection } from '../ssh/client';
import { createAgentSession } from '../ssh/agent-session';
import { HostKeyMismatchError } from '../ssh/errors';
import type { WebappClient } from '../trigger';

export interface LifecycleStepDeps {
  readonly connect: (input: { readonly host: string; readonly privateKey: string; readonly pinnedHostKey: string }) => Promise<DropletConnection>;
  readonly keys: InstallationKeys;
  readonly secrets: SecretStore;
  readonly railway: RailwayApi;
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly digitalocean: DigitalOceanApi;
  readonly pollIntervalMs: number;
}

/** `systemctl start docker`: the one host command outside the agent (the agent itself needs a running daemon). */
export function startDockerCommand(): AgentCommand {
  return { command: ['systemctl', 'start', 'docker'].map(shellQuote).join(' ') };
}

interface Railwayish {
  readonly projectId: string;
  readonly environmentId: string;
  readonly webappServiceId: string;
}

/**
 * Steps of the installation's life after deploy: the heal check (one DigitalOcean call, one SSH session, one
 * Railway read and one webapp probe), the repairs, upgrade with its own health gate and measured gap, and the
 * pieces migrate needs beyond deploy's steps.
 */
export function createLifecycleActivities(deps: LifecycleStepDeps) {
  const { session, agent } = createAgentSession(deps);

  /** Polls the agent's status until the supervisor runs `tag` and logged "Connected to platform"; ms when it did. */
  const waitConnected = async (c: DropletConnection, tag: string, timeoutSeconds: number): Promise<{ at: number } | { last: string }> => {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = 'no status yet';
    while (Date.now() < deadline) {
      const s = await agent(c, 'status', agentStatusCommand(), 30_000).catch((err: unknown) => {
        last = err instanceof Error ? err.message : String(err);
        return undefined;
      });
      if (s) {
        const sup = s.supervisor;
        last = sup ? `${sup.state ?? '?'}, tag ${sup.tag ?? '?'}, ${sup.connectedToPlatform ? 'connected' : 'not connected'}` : 'no supervisor';
        if (sup?.running && !sup.restarting && sup.connectedToPlatform && sup.tag === tag) return { at: Date.now() };
      }
      heartbeat({ waiting: last });
      await sleep(Math.min(deps.pollIntervalMs, 250));
    }
    return { last };
  };

  /** Recreates the supervisor via the agent (`upgrade` pulls first; `rollback` returns to previous.env) and gates it. */
  const recreate = async (
    input: { installationId: string; ipv4: string; healthTimeoutSeconds: number },
    verb: 'upgrade' | 'rollback',
    tag: string,
  ) =>
    session(input.installationId, input.ipv4, async (c) => {
      const cmd = verb === 'upgrade' ? agentUpgradeCommand(tag, { waitSeconds: 60 }) : agentRollbackCommand({ waitSeconds: 60 });
      const started = Date.now();
      const out = await agent(c, verb, cmd, 600_000);
      const returned = Date.now();
      const target = out.tag ?? tag;
      const gate = await waitConnected(c, target, input.healthTimeoutSeconds);
      const downtime = out.downtimeSeconds;
      const connected = 'at' in gate;
      // The agent measured stop → running; the rest of the gap is running → "Connected to platform", seen from here.
      const notConnectedSeconds = connected && out.changed
        ? Math.round(((downtime ?? (returned - started) / 1000) + (gate.at - returned) / 1000) * 1000) / 1000
        : null;
      return {
        changed: out.changed,
        tag: target,
        previousTag: out.previousTag,
        configHash: out.hash,
        downtimeSeconds: downtime,
        notConnectedSeconds,
        healthy: connected,
        message: connected ? `supervisor ${target} connected to the platform` : `supervisor ${target} did not connect within ${input.healthTimeoutSeconds}s (${gate.last})`,
      };
    });

  const desiredEnv = (installationId: string, vars: Record<string, string>, workerToken: string, supervisorVersion: string, apiUrl: string) => {
    const registryHost = vars['DEPLOY_REGISTRY_HOST'];
    const registryUser = vars['DEPLOY_REGISTRY_USERNAME'];
    const registryPassword = vars['DEPLOY_REGISTRY_PASSWORD'];
    // Mirrors applySupervisorConfig: the same inputs give the same .env, so the hashes compare.
    return buildSupervisorEnv({
      imageTag: supervisorVersion,
      apiUrl,
      workerToken,
      managedWorkerSecret: vars['MANAGED_WORKER_SECRET'] ?? '',
      workerInstanceName: resourceNames(installationId).workerInstanceName,
      ...(registryHost && registryUser && registryPassword ? { registry: { url: registryHost, username: registryUser, password: registryPassword } } : {}),
    });
  };

  return {
    /**
     * One heal check. Budget: one DigitalOcean call (getDroplet), at most one SSH session (agent status), one Railway
     * read (the managed secret, the source of truth) and one webapp probe (token + secret). Never throws for what it
     * observes: a failure to reach something is itself the observation.
     */
    async observeInstallation(input: {
      installationId: string;
      dropletId: number;
      supervisorVersion: string;
      railway: Railwayish;
      apiUrl: string;
    }): Promise<Observation> {
      const calls = { digitalocean: 0, ssh: 0, railway: 0, webapp: 0 };
      const at = new Date().toISOString();
      let droplet: Observation['droplet'] = { found: false, status: null, ipv4: null };
      calls.digitalocean += 1;
      try {
        const d = await deps.digitalocean.getDroplet(input.dropletId);
        droplet = { found: true, status: d.status, ipv4: d.publicIpv4 ?? null };
      } catch (err) {
        if (!(err instanceof DigitalOceanApiError && err.status === 404)) throw err;
      }

      let ssh: Observation['ssh'] = { ok: false, error: 'not tried: droplet not active', hostKeyMismatch: false };
      let status: AgentStatus | undefined;
      if (droplet.found && droplet.status === 'active' && droplet.ipv4) {
        calls.ssh += 1;
        const ipv4 = droplet.ipv4;
        try {
          status = await session(input.installationId, ipv4, (c) => agent(c, 'status', agentStatusCommand(), 30_000));
          ssh = { ok: true, error: null, hostKeyMismatch: false };
        } catch (err) {
          ssh = { ok: false, error: err instanceof Error ? err.message : String(err), hostKeyMismatch: err instanceof HostKeyMismatchError };
        }
      }

      let desiredHash: string | null = null;
      let credentials: Observation['credentials'] = { accepted: null, status: null, error: null };
      const token = await deps.secrets.get(secretNames(input.installationId).workerToken);
      calls.railway += 1;
      const vars = await deps.railway.getVariables({
        projectId: input.railway.projectId,
        environmentId: input.railway.environmentId,
        serviceId: input.railway.webappServiceId,
      });
      const secret = vars['MANAGED_WORKER_SECRET'];
      if (!token || !secret) {
        credentials = { accepted: false, status: null, error: !token ? 'no worker token stored' : 'the webapp has no MANAGED_WORKER_SECRET' };
      } else {
        desiredHash = configHash(buildSupervisorCompose(), desiredEnv(input.installationId, vars, token, input.supervisorVersion, input.apiUrl));
        calls.webapp += 1;
        try {
          const probe = await deps.webapp(input.apiUrl).probeWorkerCredentials({ workerToken: token, managedWorkerSecret: secret });
          credentials = { accepted: probe.accepted, status: probe.status, error: probe.accepted ? null : `webapp rejected the credentials (HTTP ${probe.status})` };
        } catch (err) {
          credentials = { accepted: null, status: null, error: `webapp unreachable: ${err instanceof Error ? err.message : String(err)}` };
        }
      }

      const sup = status?.supervisor;
      return {
        at,
        droplet,
        ssh,
        docker: { running: status ? status.docker.running : null },
        supervisor: {
          running: sup ? Boolean(sup.running) : status?.docker.running ? false : null,
          restarting: sup?.restarting ?? null,
          connected: sup ? sup.connectedToPlatform : null,
          tag: sup?.tag ?? null,
          restartCount: sup?.restartCount ?? null,
        },
        disk: { freePercent: status?.disk?.freePercent ?? null },
        config: { hash: status?.config.hash ?? null, desiredHash },
        credentials,
        calls,
      };
    },

    /** Pull first, then recreate with the new tag, then wait until it is connected; measures the gap. */
    async upgradeSupervisorOnDroplet(input: { installationId: string; ipv4: string; version: string; healthTimeoutSeconds: number }) {
      return recreate(input, 'upgrade', input.version);
    },

    /** Back to the previous configuration (the tag before the last upgrade), gated the same way. */
    async rollbackSupervisorOnDroplet(input: { installationId: string; ipv4: string; version: string; healthTimeoutSeconds: number }) {
      return recreate(input, 'rollback', input.version);
    },

    async restartSupervisor(input: { installationId: string; ipv4: string }) {
      await session(input.installationId, input.ipv4, (c) => agent(c, 'restart', agentRestartCommand(), 120_000));
      return { restarted: true };
    },

    async stopSupervisor(input: { installationId: string; ipv4: string }) {
      await session(input.installationId, input.ipv4, (c) => agent(c, 'stop', agentStopCommand(), 120_000));
      return { stopped: true };
    },

    async startDocker(input: { installationId: string; ipv4: string }) {
      await session(input.installationId, input.ipv4, async (c) => {
        const result = await c.run(startDockerCommand().command, { timeoutMs: 60_000 });
        if (result.code !== 0) {
          throw ApplicationFailure.retryable(`systemctl start docker failed: ${(result.stderr || result.stdout).trim().slice(0, 300)}`, ErrorType.Unavailable);
        }
      });
      return { started: true };
    },

    async pruneDocker(input: { installationId: string; ipv4: string }) {
      const out = await session(input.installationId, input.ipv4, (c) => agent(c, 'prune', agentPruneCommand(), 300_000));
      return { reclaimedBytes: out.reclaimedBytes };
    },

    /** A power action, waited for until DigitalOcean reports it completed. */
    async powerDroplet(input: { dropletId: number; action: 'power_on' | 'power_cycle'; timeoutSeconds: number }) {
      const action = await deps.digitalocean.dropletAction(input.dropletId, { type: input.action });
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let current = action;
      while (current.status === 'in-progress' && Date.now() < deadline) {
        heartbeat({ action: current.status });
        await sleep(deps.pollIntervalMs);
        current = await deps.digitalocean.getAction(action.id);
      }
      if (current.status !== 'completed') {
        throw ApplicationFailure.nonRetryable(`${input.action} of droplet ${input.dropletId} ended ${current.status}`, ErrorType.Unavailable);
      }
      return { completed: true };
    },

    /** Compensation of migrate's create: only the generation it made, found by name under the installation tag. */
    async deleteDropletByName(input: { installationId: string; name: string }) {
      const droplets = await deps.digitalocean.listDropletsByTag(resourceNames(input.installationId).tag);
      let deleted = 0;
      for (const d of droplets.filter((x) => x.name === input.name)) {
        if (await deps.digitalocean.deleteDroplet(d.id)) deleted += 1;
      }
      return { deleted };
    },
  };
}
