import { agentStatusCommand, type AgentStatus } from '../../remote/agent-commands';
import type { Observation } from '../../shared/heal-policy';
import { secretNames } from '../../shared/ids';
import { BOUNDS } from '../../shared/activity-contract';
import type { DigitalOceanApi, Droplet } from '../digitalocean/client';
import { DigitalOceanApiError } from '../digitalocean/errors';
import type { SharedDropletList } from '../digitalocean/shared-list';
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
  /** The tagged droplet list the heal checks of every installation on this worker share. */
  readonly dropletList: SharedDropletList;
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
 * One heal check. Budget: no DigitalOcean call of its own while the droplet is healthy (the shared tagged list,
 * ../digitalocean/shared-list.ts, one read for every installation on the worker), else one getDroplet; at most one
 * SSH session (agent status), one Railway read (the managed secret, the source of truth) and one webapp probe
 * (token + secret). Never throws for what it observes: a failure to reach something is itself the observation.
 */
export async function observeInstallation(deps: ObserveDeps, input: ObserveInput): Promise<Observation> {
  const { session, agent } = deps.agentSession;
  const calls = { digitalocean: 0, ssh: 0, railway: 0, webapp: 0 };
  const at = new Date().toISOString();
  let droplet: Observation['droplet'] = { found: false, status: null, ipv4: null };
  let facts: Droplet | undefined;
  const readFresh = async () => {
    calls.digitalocean += 1;
    facts = undefined;
    droplet = { found: false, status: null, ipv4: null };
    try {
      facts = await deps.digitalocean.getDroplet(input.dropletId);
      droplet = { found: true, status: facts.status, ipv4: facts.publicIpv4 ?? null };
    } catch (err) {
      if (!(err instanceof DigitalOceanApiError && err.status === 404)) throw err;
    }
  };
  const listed = await deps.dropletList.lookUpActive(input.installationId, input.dropletId);
  calls.digitalocean += listed.requests;
  if (listed.droplet) {
    facts = listed.droplet;
    droplet = { found: true, status: listed.droplet.status, ipv4: listed.droplet.publicIpv4 ?? null };
  } else await readFresh();

  let ssh: Observation['ssh'] = { ok: false, error: 'not tried: droplet not active', hostKeyMismatch: false };
  let status: AgentStatus | undefined;
  let dockerApiVersion: string | null = null;
  const tryAgent = async (ipv4: string) => {
    calls.ssh += 1;
    try {
      ({ status, dockerApiVersion } = await session(input.installationId, ipv4, async (c) => {
        const s = await agent(c, 'status', agentStatusCommand(), BOUNDS.agentStatusMs);
        // The desired .env pins the daemon's API version: read in the same session, unknown while Docker is down.
        return { status: s, dockerApiVersion: s.docker.running ? await readDockerApiVersion(c, BOUNDS.agentStatusMs).catch(() => null) : null };
      }));
      ssh = { ok: true, error: null, hostKeyMismatch: false };
    } catch (err) {
      ssh = { ok: false, error: err instanceof Error ? err.message : String(err), hostKeyMismatch: err instanceof HostKeyMismatchError };
    }
  };
  if (droplet.found && droplet.status === 'active' && droplet.ipv4) await tryAgent(droplet.ipv4);
  // The shared list may be up to a heal interval old: an unreachable droplet is looked at again, fresh, so a repair
  // is chosen on DigitalOcean's present word (powered off, gone, another address), never on the list's.
  if (listed.droplet && !ssh.ok) {
    const failed = ssh;
    await readFresh();
    const ipv4 = droplet.ipv4;
    if (droplet.found && droplet.status === 'active' && ipv4) {
      if (ipv4 !== listed.droplet.publicIpv4) await tryAgent(ipv4);
      else ssh = failed;
    } else ssh = { ok: false, error: 'not tried: droplet not active', hostKeyMismatch: false };
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
