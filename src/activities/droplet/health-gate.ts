import type { AgentStatus } from '../../remote/agent-commands';
import { pause, progress } from '../heartbeat';
import { HostKeyMismatchError } from '../ssh/errors';

/** What the gate saw pass: when the supervisor was first seen ready, and what it reported then. */
export interface GatePassed {
  readonly passed: true;
  /** Epoch ms of the first of the two looks that agreed. */
  readonly at: number;
  readonly restartCount: number;
  readonly tag: string;
  readonly configHash: string | null;
}

export interface GateTimedOut {
  readonly passed: false;
  /** The last thing seen, in words, for the error or the record. */
  readonly last: string;
}

/**
 * The one health gate, used after deploy, configure, upgrade and rollback: the supervisor container runs `tag`, is not
 * restarting or unhealthy, logged "Connected to platform" since it started, and its restart count holds still across
 * two looks in a row (a crash loop can look connected for a moment). `look` fetches the agent's status (a failed look
 * is waited out; a wrong host key ends the gate).
 */
export async function supervisorGate(look: () => Promise<AgentStatus>, tag: string, timeoutSeconds: number, pollMs: number): Promise<GatePassed | GateTimedOut> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = 'no status yet';
  let streak: { at: number; restartCount: number | null } | undefined;
  while (Date.now() < deadline) {
    const seenAt = Date.now();
    const s = await look().catch((err: unknown) => {
      if (err instanceof HostKeyMismatchError) throw err;
      last = err instanceof Error ? err.message : String(err);
      return undefined;
    });
    if (s) {
      last = describeSupervisor(s);
      const sup = s.supervisor;
      if (sup && isReady(s, tag)) {
        const restartCount = sup.restartCount ?? null;
        if (streak && streak.restartCount === restartCount) {
          return { passed: true, at: streak.at, restartCount: restartCount ?? 0, tag, configHash: s.config.hash };
        }
        streak = { at: seenAt, restartCount };
      } else {
        streak = undefined;
      }
    }
    progress({ supervisor: last });
    await pause(pollMs);
  }
  return { passed: false, last };
}

function isReady(s: AgentStatus, tag: string): boolean {
  const sup = s.supervisor;
  return Boolean(sup?.running && !sup.restarting && sup.connectedToPlatform && sup.tag === tag && sup.health !== 'unhealthy');
}

/** The agent's view of the supervisor in one line ("running, tag v4.5.12, restarts 0, connected to platform"). */
export function describeSupervisor(s: AgentStatus): string {
  if (!s.docker.running) return `docker is not running (${s.docker.error ?? 'no detail'})`;
  const sup = s.supervisor;
  if (!sup || !sup.exists) return 'no supervisor container';
  const parts = [`${sup.state ?? 'unknown'}`, `tag ${sup.tag ?? '?'}`, `restarts ${sup.restartCount ?? '?'}`];
  if (sup.health) parts.push(`health ${sup.health}`);
  parts.push(sup.connectedToPlatform ? 'connected to platform' : 'not connected to platform');
  if (sup.lastFailedToConnect) parts.push(`last error: ${sup.lastFailedToConnect}`);
  return parts.join(', ');
}
