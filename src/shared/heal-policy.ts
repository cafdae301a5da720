import type { DesiredState } from './deploy';
import type { LifecycleSettings } from './lifecycle';

/**
 * The heal policy, pure: an observation becomes named conditions, the conditions become the smallest repair, and the
 * repair budget (a cap per sliding hour, exponential backoff after failures) decides whether it runs now. The
 * installation workflow (src/workflows/installation/heal.ts) only carries it out and records it.
 */

export const CONDITION_TYPES = [
  'DropletActive',
  'SshReachable',
  'DockerRunning',
  'SupervisorRunning',
  'SupervisorConnected',
  'ConfigCurrent',
  'CredentialsAccepted',
  'DiskHasRoom',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** Kubernetes-style: a named fact, its status, a machine reason, a human message and when it last changed. */
export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  /** ISO time of the last status change. */
  readonly since: string;
}

/** One heal check's raw facts (the observeInstallation activity): at most 1 DigitalOcean call, 1 SSH session, 1 probe. */
export interface Observation {
  readonly at: string;
  readonly droplet: { readonly found: boolean; readonly status: string | null; readonly ipv4: string | null };
  readonly ssh: { readonly ok: boolean; readonly error: string | null; readonly hostKeyMismatch: boolean };
  readonly docker: { readonly running: boolean | null };
  readonly supervisor: {
    readonly running: boolean | null;
    readonly restarting: boolean | null;
    readonly connected: boolean | null;
    readonly tag: string | null;
    readonly restartCount: number | null;
  };
  readonly disk: { readonly freePercent: number | null };
  readonly config: { readonly hash: string | null; readonly desiredHash: string | null };
  readonly credentials: { readonly accepted: boolean | null; readonly status: number | null; readonly error: string | null };
  /** External calls this check made, for the budget and the benchmark. */
  readonly calls: { readonly digitalocean: number; readonly ssh: number; readonly railway: number; readonly webapp: number };
}

export type RepairAction =
  | 'none'
  | 'replace-droplet'
  | 'power-on'
  | 'power-cycle'
  | 'start-docker'
  | 'prune'
  | 'reapply-config'
  | 'restart-supervisor'
  | 'operator';

export interface RepairDecision {
  readonly action: RepairAction;
  readonly reason: string;
}

/** Facts → conditions; `previous` keeps `since` stable while a status holds. */
export function conditionsFrom(
  o: Observation,
  desired: Pick<DesiredState, 'supervisorVersion'>,
  minFreeDiskPercent: number,
  previous: readonly Condition[],
): Condition[] {
  const c = (type: ConditionType, ok: boolean | null, reasonFalse: string, message: string, reasonTrue = 'Ok'): Condition => {
    const status = ok === null ? 'Unknown' : ok ? 'True' : 'False';
    const prior = previous.find((p) => p.type === type);
    const reason = ok === null ? 'NotObserved' : ok ? reasonTrue : reasonFalse;
    return { type, status, reason, message, since: prior && prior.status === status ? prior.since : o.at };
  };
  const sshKnown = o.droplet.found && o.droplet.status === 'active';
  const sup = o.supervisor;
  return [
    c(
      'DropletActive',
      o.droplet.found && o.droplet.status === 'active',
      o.droplet.found ? (o.droplet.status === 'off' ? 'PoweredOff' : 'NotActive') : 'DropletMissing',
      o.droplet.found ? `droplet is ${o.droplet.status ?? 'unknown'}` : 'droplet does not exist',
    ),
    c('SshReachable', sshKnown ? o.ssh.ok : null, o.ssh.hostKeyMismatch ? 'HostKeyMismatch' : 'Unreachable', o.ssh.error ?? 'agent answered'),
    c('DockerRunning', o.ssh.ok ? o.docker.running : null, 'DockerStopped', o.docker.running ? 'docker daemon answers' : 'docker daemon is not running'),
    c(
      'SupervisorRunning',
      o.docker.running ? Boolean(sup.running && !sup.restarting) : null,
      sup.restarting ? 'Restarting' : 'NotRunning',
      `running=${String(sup.running)} restarting=${String(sup.restarting)} restarts=${String(sup.restartCount)}`,
    ),
    c(
      'SupervisorConnected',
      o.docker.running ? Boolean(sup.connected && sup.tag === desired.supervisorVersion) : null,
      sup.tag !== null && sup.tag !== desired.supervisorVersion ? 'WrongVersion' : 'NotConnected',
      `tag ${sup.tag ?? 'none'} (desired ${desired.supervisorVersion}), ${sup.connected ? 'connected' : 'not connected'} to platform`,
    ),
    c(
      'ConfigCurrent',
      o.ssh.ok && o.config.desiredHash !== null ? o.config.hash === o.config.desiredHash : null,
      'ConfigDrift',
      o.config.hash === o.config.desiredHash ? 'config on the droplet is the desired one' : 'config on the droplet differs from the desired one',
    ),
    c(
      'CredentialsAccepted',
      o.credentials.accepted,
      'CredentialsRejected',
      o.credentials.error ?? `webapp answered the probe with HTTP ${String(o.credentials.status)}`,
    ),
    c(
      'DiskHasRoom',
      o.ssh.ok && o.disk.freePercent !== null ? o.disk.freePercent >= minFreeDiskPercent : null,
      'DiskShort',
      `${String(o.disk.freePercent)}% free (minimum ${minFreeDiskPercent}%)`,
    ),
  ];
}

/** The smallest repair that addresses the first broken condition, in dependency order (droplet → ssh → docker → …). */
export function decideRepair(conditions: readonly Condition[]): RepairDecision {
  const get = (t: ConditionType) => conditions.find((x) => x.type === t);
  const bad = (t: ConditionType) => get(t)?.status === 'False';
  const why = (t: ConditionType) => `${t} is False (${get(t)?.reason ?? '?'}: ${get(t)?.message ?? ''})`;
  if (bad('DropletActive')) {
    const reason = get('DropletActive')?.reason;
    if (reason === 'DropletMissing') return { action: 'replace-droplet', reason: why('DropletActive') };
    if (reason === 'PoweredOff') return { action: 'power-on', reason: why('DropletActive') };
    return { action: 'power-cycle', reason: why('DropletActive') };
  }
  if (bad('SshReachable')) {
    if (get('SshReachable')?.reason === 'HostKeyMismatch') {
      return { action: 'operator', reason: `${why('SshReachable')}: nothing is sent to a host with another key; check the droplet` };
    }
    return { action: 'power-cycle', reason: why('SshReachable') };
  }
  if (bad('DockerRunning')) return { action: 'start-docker', reason: why('DockerRunning') };
  if (bad('DiskHasRoom')) return { action: 'prune', reason: why('DiskHasRoom') };
  if (bad('ConfigCurrent')) return { action: 'reapply-config', reason: why('ConfigCurrent') };
  if (bad('CredentialsAccepted')) return { action: 'reapply-config', reason: why('CredentialsAccepted') };
  if (bad('SupervisorConnected') && get('SupervisorConnected')?.reason === 'WrongVersion') {
    return { action: 'reapply-config', reason: why('SupervisorConnected') };
  }
  if (bad('SupervisorRunning')) return { action: 'restart-supervisor', reason: why('SupervisorRunning') };
  if (bad('SupervisorConnected')) return { action: 'restart-supervisor', reason: why('SupervisorConnected') };
  return { action: 'none', reason: 'all conditions are True' };
}


// --- the repair budget ------------------------------------------------------------------------------------------

const HOUR_MS = 3_600_000;
/** Backoff doubles per consecutive failed repair, up to this many doublings (16×). */
const MAX_BACKOFF_DOUBLINGS = 4;

/** What heal remembers between checks to pace its repairs. */
export interface RepairBudget {
  /** Epoch ms of the repairs started in the last hour. */
  readonly repairTimes: readonly number[];
  readonly consecutiveFailures: number;
  /** Epoch ms before which no repair starts (after a failed one). */
  readonly backoffUntil: number | null;
}

export const FRESH_BUDGET: RepairBudget = { repairTimes: [], consecutiveFailures: 0, backoffUntil: null };

export type HealVerdict =
  | { readonly kind: 'healthy'; readonly action: 'none'; readonly reason: string }
  | { readonly kind: 'operator'; readonly action: 'operator'; readonly reason: string }
  | { readonly kind: 'held'; readonly decision: 'capped' | 'backing-off'; readonly action: RepairAction; readonly reason: string }
  | { readonly kind: 'repair'; readonly action: RepairAction; readonly reason: string };

/** Conditions + budget → what heal does now. */
export function decideHeal(
  conditions: readonly Condition[],
  budget: RepairBudget,
  settings: Pick<LifecycleSettings, 'repairCapPerHour'>,
  now: number,
): HealVerdict {
  const decision = decideRepair(conditions);
  if (decision.action === 'none') return { kind: 'healthy', action: 'none', reason: decision.reason };
  if (decision.action === 'operator') return { kind: 'operator', action: 'operator', reason: decision.reason };
  const lastHour = budget.repairTimes.filter((t) => t > now - HOUR_MS).length;
  if (lastHour >= settings.repairCapPerHour) {
    return {
      kind: 'held',
      decision: 'capped',
      action: decision.action,
      reason: `${decision.action} held back: ${lastHour} repairs in the last hour (cap ${settings.repairCapPerHour}); ${decision.reason}`,
    };
  }
  if (budget.backoffUntil !== null && now < budget.backoffUntil) {
    return {
      kind: 'held',
      decision: 'backing-off',
      action: decision.action,
      reason: `${decision.action} held back until ${new Date(budget.backoffUntil).toISOString()} after ${budget.consecutiveFailures} failed repair(s); ${decision.reason}`,
    };
  }
  return { kind: 'repair', action: decision.action, reason: decision.reason };
}

/** The budget once a repair starts at `now`: it counts against the hourly cap. */
export function repairStarted(budget: RepairBudget, now: number): RepairBudget {
  return { ...budget, repairTimes: [...budget.repairTimes.filter((t) => t > now - HOUR_MS), now] };
}

/** The budget after a check: healthy or repaired clears the backoff; a failed repair doubles it (capped at 16×). */
export function repairEnded(
  budget: RepairBudget,
  outcome: 'healthy' | 'repaired' | 'failed',
  settings: Pick<LifecycleSettings, 'repairBackoffSeconds'>,
  now: number,
): RepairBudget {
  if (outcome !== 'failed') return { ...budget, consecutiveFailures: 0, backoffUntil: null };
  const consecutiveFailures = budget.consecutiveFailures + 1;
  const backoffMs = settings.repairBackoffSeconds * 1000 * 2 ** Math.min(consecutiveFailures - 1, MAX_BACKOFF_DOUBLINGS);
  return { ...budget, consecutiveFailures, backoffUntil: now + backoffMs };
}

/** Repairs counted against the cap in the hour before `now`. */
export function repairsInLastHour(budget: RepairBudget, now: number): number {
  return budget.repairTimes.filter((t) => t > now - HOUR_MS).length;
}
