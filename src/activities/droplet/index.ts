import { ApplicationFailure } from '@temporalio/activity';
import {
  agentApplyCommand,
  agentCancelCommand,
  agentPruneCommand,
  agentRestartCommand,
  agentRollbackCommand,
  agentStatusCommand,
  agentStopCommand,
  agentUpgradeCommand,
  agentWaitCloudInitCommand,
  parseAgentOutput,
  shellQuote,
  type AgentCommand,
} from '../../remote/agent-commands';
import { ErrorType } from '../../shared/errors';
import { resourceNames } from '../../shared/ids';
import { BOUNDS } from '../../shared/activity-contract';
import type { DigitalOceanApi } from '../digitalocean/client';
import { dropletNotOwnedBecause, ownedDroplet } from '../digitalocean/ownership';
import type { SharedDropletList } from '../digitalocean/shared-list';
import { notOwned } from '../failures';
import { operationId, pause, progress } from '../heartbeat';
import type { RailwayApi } from '../railway/api';
import { assertWebappService } from '../railway/services';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { SecretStore } from '../secrets/store';
import type { DropletConnection } from '../ssh/client';
import { HostKeyMismatchError, SshAuthError, SshUnavailableError } from '../ssh/errors';
import type { WebappClient } from '../trigger';
import { readDockerApiVersion } from './docker-version';
import { supervisorGate } from './health-gate';
import { observeInstallation, type ObserveInput } from './observe';
import { createAgentSession, type ConnectToDroplet } from './session';
import { desiredSupervisorConfig } from './supervisor-config';

export { createAgentSession, type ConnectToDroplet } from './session';

export interface DropletStepDeps {
  /** Opens an SSH session to a droplet, pinned to the installation's host key. */
  readonly connect: ConnectToDroplet;
  readonly keys: InstallationKeys;
  readonly secrets: SecretStore;
  readonly railway: RailwayApi;
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly digitalocean: DigitalOceanApi;
  /** The tagged droplet list heal checks share (../digitalocean/shared-list.ts). */
  readonly dropletList: SharedDropletList;
  readonly pollIntervalMs: number;
}

/** `systemctl start docker`: the one host command outside the agent (the agent itself needs a running daemon). */
export function startDockerCommand(): AgentCommand {
  return { command: ['systemctl', 'start', 'docker'].map(shellQuote).join(' ') };
}

/** An upgrade or rollback on the droplet; `opId` names the agent run (the workflow's, the same on every retry). */
interface RecreateInput {
  readonly installationId: string;
  readonly ipv4: string;
  readonly version: string;
  readonly healthTimeoutSeconds: number;
  readonly opId: string;
}

type OnDroplet = { installationId: string; ipv4: string };

/**
 * Every step that runs on a droplet: always through the agent, always over SSH pinned to the installation's host key,
 * with one health gate (./health-gate.ts) and one configuration builder (./supervisor-config.ts).
 */
export function createDropletActivities(deps: DropletStepDeps) {
  const agentSession = createAgentSession(deps);
  const { session, agent } = agentSession;
  const status = (c: DropletConnection) => agent(c, 'status', agentStatusCommand(), BOUNDS.agentStatusMs);
  /** A state-changing agent verb under the activity's operation id (a retry adopts the run it started). */
  const verb = <R>(input: OnDroplet, run: (c: DropletConnection, op: string | undefined) => Promise<R>) =>
    session(input.installationId, input.ipv4, (c) => run(c, operationId()));

  /**
   * Recreates the supervisor via the agent (`upgrade` pulls first; `rollback --to` returns to the named tag) and gates
   * it. The agent runs the verb under the operation's id: a retry after a lost connection or a dead worker waits for
   * that run and adopts its result rather than starting a second one.
   */
  const recreate = async (input: RecreateInput, which: 'upgrade' | 'rollback') =>
    session(input.installationId, input.ipv4, async (c) => {
      const wait = { waitSeconds: BOUNDS.agentRecreateWaitSeconds, op: input.opId };
      const cmd = which === 'upgrade' ? agentUpgradeCommand(input.version, wait) : agentRollbackCommand({ ...wait, to: input.version });
      const started = Date.now();
      const out = await agent(c, which, cmd, BOUNDS.agentRecreateMs);
      const returned = Date.now();
      const target = out.tag ?? input.version;
      // Looks close together: the gap until "Connected to platform" is measured from here.
      const gate = await supervisorGate(() => status(c), target, input.healthTimeoutSeconds, Math.min(deps.pollIntervalMs, 250));
      const downtime = out.downtimeSeconds;
      // The agent measured stop → running; the rest of the gap is running → "Connected to platform", seen from here.
      const notConnectedSeconds =
        gate.passed && out.changed ? Math.round(((downtime ?? (returned - started) / 1000) + (gate.at - returned) / 1000) * 1000) / 1000 : null;
      return {
        changed: out.changed,
        tag: target,
        previousTag: out.previousTag,
        configHash: out.hash,
        downtimeSeconds: downtime,
        notConnectedSeconds,
        healthy: gate.passed,
        message: gate.passed
          ? `supervisor ${target} connected to the platform`
          : `supervisor ${target} did not connect within ${input.healthTimeoutSeconds}s (${gate.last})`,
      };
    });

  return {
    /** Waits for SSH (refused while booting) and then for cloud-init to finish; a cloud-init error is final. */
    async waitForCloudInit(input: OnDroplet & { timeoutSeconds: number }) {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let lastError = 'no answer yet';
      while (Date.now() < deadline) {
        progress({ waiting: lastError });
        try {
          const chunk = Math.min(Math.max(5, Math.ceil((deadline - Date.now()) / 1000)), BOUNDS.cloudInitChunkSeconds);
          return await session(input.installationId, input.ipv4, async (c) => {
            const cmd = agentWaitCloudInitCommand({ timeoutSeconds: chunk });
            const result = await c.run(cmd.command, {
              timeoutMs: chunk * 1000 + BOUNDS.sshConnectMs,
              onStderrLine: (line) => line.startsWith('progress: ') && progress({ cloudInit: line.slice('progress: '.length) }),
            });
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
          await pause(deps.pollIntervalMs);
        }
      }
      throw ApplicationFailure.nonRetryable(`droplet ${input.ipv4} was not ready after ${input.timeoutSeconds}s (last: ${lastError})`, ErrorType.Unavailable);
    },

    /**
     * Writes the supervisor's compose file and .env (0600) through the agent and starts it. Secrets travel only over
     * the verified SSH session on stdin. The droplet's own facts (name, size, Docker API version) are read from
     * DigitalOcean and the droplet, never trusted from the input.
     */
    async applySupervisorConfig(input: {
      installationId: string;
      dropletId: number;
      ipv4: string;
      projectId: string;
      environmentId: string;
      webappServiceId: string;
      supervisorVersion: string;
      apiUrl: string;
    }) {
      const webapp = { projectId: input.projectId, environmentId: input.environmentId, serviceId: input.webappServiceId };
      await assertWebappService(deps.railway, webapp, input.installationId);
      const webappVariables = await deps.railway.getVariables(webapp);
      const droplet = await ownedDroplet(deps.digitalocean, input.installationId, input.dropletId);
      if (!droplet) throw ApplicationFailure.nonRetryable(`droplet ${input.dropletId} does not exist`, ErrorType.NotFound);
      if (droplet.publicIpv4 !== input.ipv4) {
        throw notOwned(`the address ${input.ipv4}`, input.installationId, `droplet ${input.dropletId} is at ${droplet.publicIpv4 ?? 'no address yet'}`);
      }
      const applied = await verb(input, async (c, op) => {
        const dockerApiVersion = await readDockerApiVersion(c, BOUNDS.agentStatusMs);
        const config = await desiredSupervisorConfig(deps, { ...input, webappVariables, droplet, dockerApiVersion });
        return agent(c, 'apply', agentApplyCommand({ env: config.env, compose: config.compose, op }), BOUNDS.agentApplyMs);
      });
      return { configHash: applied.hash, changed: applied.changed, tag: applied.tag };
    },

    /** The health gate after deploy, configure and migrate; a supervisor that does not pass it in time is final. */
    async waitForSupervisorHealthy(input: OnDroplet & { supervisorVersion: string; timeoutSeconds: number }) {
      const gate = await supervisorGate(
        () => session(input.installationId, input.ipv4, status),
        input.supervisorVersion,
        input.timeoutSeconds,
        deps.pollIntervalMs,
      );
      if (!gate.passed) {
        throw ApplicationFailure.nonRetryable(`supervisor on ${input.ipv4} was not healthy within ${input.timeoutSeconds}s: ${gate.last}`, ErrorType.Unavailable);
      }
      return { healthy: true, restartCount: gate.restartCount, tag: gate.tag, configHash: gate.configHash };
    },

    async observeInstallation(input: ObserveInput) {
      return observeInstallation({ ...deps, agentSession }, input);
    },

    /** Pull first, then recreate with the new tag, then wait until it is connected; measures the gap. */
    async upgradeSupervisorOnDroplet(input: RecreateInput) {
      return recreate(input, 'upgrade');
    },

    /** Back to `version` (the tag before the upgrade), gated the same way; retrying never reinstalls the bad tag. */
    async rollbackSupervisorOnDroplet(input: RecreateInput) {
      return recreate(input, 'rollback');
    },

    /** Stops an agent run whose activity gave up for good (its op id), so nothing changes the droplet behind our back. */
    async cancelDropletOperation(input: OnDroplet & { opId: string }) {
      const out = await session(input.installationId, input.ipv4, (c) => agent(c, 'cancel', agentCancelCommand(input.opId), BOUNDS.agentCancelMs));
      return { cancelled: out.cancelled };
    },

    async restartSupervisor(input: OnDroplet) {
      await verb(input, (c, op) => agent(c, 'restart', agentRestartCommand({ op }), BOUNDS.agentRestartMs));
      return { restarted: true };
    },

    async stopSupervisor(input: OnDroplet) {
      await verb(input, (c, op) => agent(c, 'stop', agentStopCommand({ op }), BOUNDS.agentStopMs));
      return { stopped: true };
    },

    /** Stops the supervisor on every reachable droplet of the installation (before they are deleted). */
    async stopSupervisors(input: { installationId: string }) {
      const droplets = await deps.digitalocean.listDropletsByTag(resourceNames(input.installationId).tag);
      let stopped = 0;
      for (const droplet of droplets) {
        if (!droplet.publicIpv4 || droplet.status !== 'active' || dropletNotOwnedBecause(droplet, input.installationId)) continue;
        try {
          await verb({ ...input, ipv4: droplet.publicIpv4 }, (c, op) => agent(c, 'stop', agentStopCommand({ op }), BOUNDS.agentStopMs));
          stopped += 1;
        } catch (err) {
          // A droplet that cannot be reached is about to be deleted anyway; a wrong host key gets no command.
          progress({ skipped: droplet.name, reason: err instanceof Error ? err.message : String(err) });
        }
      }
      return { stopped };
    },

    async startDocker(input: OnDroplet) {
      await session(input.installationId, input.ipv4, async (c) => {
        const result = await c.run(startDockerCommand().command, { timeoutMs: BOUNDS.startDockerMs });
        if (result.code !== 0) {
          throw ApplicationFailure.retryable(`systemctl start docker failed: ${(result.stderr || result.stdout).trim().slice(0, 300)}`, ErrorType.Unavailable);
        }
      });
      return { started: true };
    },

    async pruneDocker(input: OnDroplet) {
      const out = await verb(input, (c, op) => agent(c, 'prune', agentPruneCommand({ op }), BOUNDS.agentPruneMs));
      return { reclaimedBytes: out.reclaimedBytes };
    },
  };
}
