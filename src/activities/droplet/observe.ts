import { agentStatusCommand, type AgentStatus } from '../../remote/agent-commands';
import type { Observation } from '../../shared/heal-policy';
import { secretNames } from '../../shared/ids';
import { BOUNDS } from '../../shared/activity-contract';
import type { DigitalOceanApi, Droplet } from '../digitalocean/client';
import { DigitalOceanApiError } from '../digitalocean/errors';
import type { RailwayApi } from '../railway/api';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { SecretStore } from '../secrets/store';
import { HostKeyMismatchError } from '../ssh/errors';
import type { WebappClient } from '../trigger';
import { readDockerApiVersion } from './docker-version';
import type { createAgentSession } from './session';
import { desiredSupervisorConfig } from './supervisor-config';

export interface ObserveDeps {
  readonly digitalocean: DigitalOceanApi;
  readonly railway: RailwayApi;
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly secrets: SecretStore;
  readonly keys: InstallationKeys;
  readonly agentSession: ReturnType<typeof createAgentSession>;
}

export interface ObserveInput {
  readonly installationId: string;
  readonly dropletId: number;
  readonly supervisorVersion: string;
  readonly railway: { readonly projectId: string; readonly environmentId: string; readonly webappServiceId: string };
  readonly apiUrl: string;
}

/**
 * One heal check. Budget: one DigitalOcean call (getDroplet), at most one SSH session (agent status), one Railway
 * read (the managed secret, the source of truth) and one webapp probe (token + secret). Never throws for what it
 * observes: a failure to reach something is itself the observation.
 */
export async function observeInstallation(deps: ObserveDeps, input: ObserveInput): Promise<Observation> {
  const { session, agent } = deps.agentSession;
  const calls = { digitalocean: 1, ssh: 0, railway: 0, webapp: 0 };
  const at = new Date().toISOString();
  let droplet: Observation['droplet'] = { found: false, status: null, ipv4: null };
  let facts: Droplet | undefined;
  try {
    facts = await deps.digitalocean.getDroplet(input.dropletId);
    droplet = { found: true, status: facts.status, ipv4: facts.publicIpv4 ?? null };
  } catch (err) {
    if (!(err instanceof DigitalOceanApiError && err.status === 404)) throw err;
  }

  let ssh: Observation['ssh'] = { ok: false, error: 'not tried: droplet not active', hostKeyMismatch: false };
  let status: AgentStatus | undefined;
  let dockerApiVersion: string | null = null;
  if (droplet.found && droplet.status === 'active' && droplet.ipv4) {
    calls.ssh += 1;
    try {
      ({ status, dockerApiVersion } = await session(input.installationId, droplet.ipv4, async (c) => {
        const s = await agent(c, 'status', agentStatusCommand(), BOUNDS.agentStatusMs);
        // The desired .env pins the daemon's API version: read in the same session, unknown while Docker is down.
        return { status: s, dockerApiVersion: s.docker.running ? await readDockerApiVersion(c, BOUNDS.agentStatusMs).catch(() => null) : null };
      }));
      ssh = { ok: true, error: null, hostKeyMismatch: false };
    } catch (err) {
      ssh = { ok: false, error: err instanceof Error ? err.message : String(err), hostKeyMismatch: err instanceof HostKeyMismatchError };
    }
  }

  let desiredHash: string | null = null;
  let credentials: Observation['credentials'];
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
    if (facts && dockerApiVersion) {
      const sources = { installationId: input.installationId, supervisorVersion: input.supervisorVersion, apiUrl: input.apiUrl, webappVariables: vars };
      desiredHash = (await desiredSupervisorConfig(deps, { ...sources, droplet: facts, dockerApiVersion })).hash;
    }
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
}
