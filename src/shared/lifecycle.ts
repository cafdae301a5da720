import { z } from 'zod';
import { supervisorVersionSchema, type DeployResult } from './deploy';
import { installationIdSchema } from './ids';

/**
 * The installation's lifecycle contract: inputs of the installation, heal and migrate workflows, what the
 * installation's `status` query returns, and the pure heal decision (conditions → smallest repair). Workflows, the
 * CLI and activities all import from here.
 */

// --- inputs -----------------------------------------------------------------------------------------------------

export const upgradeRequestSchema = z.object({ version: supervisorVersionSchema }).strict();
export type UpgradeRequest = z.input<typeof upgradeRequestSchema>;

export const migrateRequestSchema = z
  .object({
    size: z.string().regex(/^[a-z0-9-]+$/, { message: 'must be a DigitalOcean size slug such as "s-2vcpu-4gb"' }).optional(),
    region: z.string().regex(/^[a-z]{3}\d$/, { message: 'must be a DigitalOcean region slug such as "nyc3" or "fra1"' }).optional(),
    image: z.string().regex(/^[a-z0-9.-]+$/, { message: 'must be a DigitalOcean image slug such as "docker-20-04"' }).optional(),
    /** Why (heal sets it when it replaces a dead droplet). */
    reason: z.string().max(200).optional(),
  })
  .strict();
export type MigrateRequest = z.input<typeof migrateRequestSchema>;

export const healRequestSchema = z
  .object({ source: z.enum(['schedule', 'manual', 'test']).default('manual') })
  .strict();
export type HealRequest = z.input<typeof healRequestSchema>;

const settingsShape = {
  /** How often the heal schedule runs. */
  healIntervalSeconds: z.number().int().min(1).max(86_400),
  /** Repairs allowed in any sliding hour; beyond it heal only observes and records. */
  repairCapPerHour: z.number().int().min(0).max(100),
  /** Wait after a failed repair before the next one; doubles per consecutive failure (capped at 16×). */
  repairBackoffSeconds: z.number().int().min(0).max(3600),
  /** Health gate after a repair, an upgrade or a migration. */
  healthTimeoutSeconds: z.number().int().min(5).max(3600),
  /** Boot and cloud-init of a new droplet (migrate). */
  bootTimeoutSeconds: z.number().int().min(10).max(3600),
  /** Below this much free disk, heal prunes. */
  minFreeDiskPercent: z.number().int().min(1).max(90),
};

export const DEFAULT_LIFECYCLE_SETTINGS = {
  healIntervalSeconds: 60,
  repairCapPerHour: 6,
  repairBackoffSeconds: 30,
  healthTimeoutSeconds: 300,
  bootTimeoutSeconds: 600,
  minFreeDiskPercent: 10,
} as const;

export const lifecycleSettingsSchema = z
  .object({
    healIntervalSeconds: settingsShape.healIntervalSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.healIntervalSeconds),
    repairCapPerHour: settingsShape.repairCapPerHour.default(DEFAULT_LIFECYCLE_SETTINGS.repairCapPerHour),
    repairBackoffSeconds: settingsShape.repairBackoffSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.repairBackoffSeconds),
    healthTimeoutSeconds: settingsShape.healthTimeoutSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.healthTimeoutSeconds),
    bootTimeoutSeconds: settingsShape.bootTimeoutSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.bootTimeoutSeconds),
    minFreeDiskPercent: settingsShape.minFreeDiskPercent.default(DEFAULT_LIFECYCLE_SETTINGS.minFreeDiskPercent),
  })
  .strict();
export type LifecycleSettings = z.output<typeof lifecycleSettingsSchema>;
export type LifecycleSettingsInput = z.input<typeof lifecycleSettingsSchema>;
/** A change of some settings: no defaults, so what is not named stays as it is. */
export const configureRequestSchema = z.object(settingsShape).partial().strict();
export type ConfigureRequest = z.input<typeof configureRequestSchema>;

/** What the installation wants to be true: set by deploy, changed by upgrade and migrate only. */
export interface DesiredState {
  readonly supervisorVersion: string;
  readonly size: string;
  readonly region: string;
  readonly image: string;
  readonly configHash: string;
  readonly generation: number;
  readonly droplet: { readonly id: number; readonly name: string; readonly ipv4: string };
  readonly sshKeyId: number;
  readonly railway: { readonly projectId: string; readonly environmentId: string; readonly webappServiceId: string };
  readonly apiUrl: string;
  /** DigitalOcean's list price of the droplet's size (absent in state recorded before it was kept). */
  readonly monthlyPriceUsd?: number;
}

export const installationInputSchema = z
  .object({
    installationId: installationIdSchema,
    settings: lifecycleSettingsSchema.default({ ...DEFAULT_LIFECYCLE_SETTINGS }),
    /** Carried across continue-as-new (opaque to callers). */
    carried: z.unknown().optional(),
  })
  .strict();
export type InstallationInput = z.input<typeof installationInputSchema>;

/** Deploy's hand-over to the installation workflow (signal `deployed`). */
export interface DeployedSignal {
  readonly result: DeployResult;
  readonly apiUrl: string;
  readonly generation: number;
}

// --- conditions and observation ---------------------------------------------------------------------------------

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

// --- status -----------------------------------------------------------------------------------------------------

export type OperationKind = 'adopt' | 'deploy' | 'upgrade' | 'migrate' | 'heal' | 'configure' | 'retire';

export interface QueuedOperation {
  readonly id: string;
  readonly kind: OperationKind;
  readonly requestedAt: string;
  /** Kind-specific arguments (no secrets: versions, sizes, sources). */
  readonly args: Record<string, unknown>;
}

export type OperationOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'unchanged' | 'superseded' | 'skipped' | 'cancelled';

export interface OperationRecord {
  readonly id: string;
  readonly kind: OperationKind;
  readonly outcome: OperationOutcome;
  readonly message: string;
  readonly requestedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string;
  readonly details?: Record<string, unknown>;
}

/** One heal decision, with its reason: a repair done, a repair held back (cap, backoff) or "healthy". */
export interface HealEvent {
  readonly at: string;
  readonly action: RepairAction;
  readonly decision: 'observed-healthy' | 'repaired' | 'repair-failed' | 'capped' | 'backing-off' | 'needs-operator' | 'resolved';
  readonly reason: string;
  readonly calls?: Observation['calls'];
}

export interface InstallationStatus {
  readonly installationId: string;
  readonly desired: DesiredState | null;
  readonly observed: Observation | null;
  readonly conditions: readonly Condition[];
  readonly current: (QueuedOperation & { readonly startedAt: string; readonly step: string }) | null;
  readonly queue: readonly QueuedOperation[];
  /** Newest first. */
  readonly recent: readonly OperationRecord[];
  /** Newest first. */
  readonly healEvents: readonly HealEvent[];
  readonly repairs: { readonly lastHour: number; readonly capPerHour: number; readonly backoffUntil: string | null; readonly consecutiveFailures: number };
  readonly settings: LifecycleSettings;
  readonly runs: number;
  readonly retiring: boolean;
}

export interface UpgradeResult {
  readonly outcome: 'upgraded' | 'unchanged' | 'rolled-back' | 'rejected' | 'superseded' | 'failed' | 'cancelled';
  readonly from: string | null;
  readonly to: string;
  readonly message: string;
  /** The agent's measure: old container stopped → new one running. */
  readonly downtimeSeconds: number | null;
  /** The controller's measure (upper bound): old container stopped → new one logged "Connected to platform". */
  readonly notConnectedSeconds: number | null;
}

export interface MigrateResult {
  readonly outcome: 'migrated' | 'failed' | 'superseded' | 'cancelled';
  readonly message: string;
  readonly from: { readonly id: number; readonly name: string } | null;
  readonly to: { readonly id: number; readonly name: string; readonly ipv4: string; readonly size: string; readonly region: string; readonly image: string } | null;
}

/** Input of the `migrate` workflow (the installation starts it as a child). */
export interface MigrateWorkflowInput {
  readonly installationId: string;
  readonly from: DesiredState;
  readonly target: { readonly size: string; readonly region: string; readonly image: string };
  readonly generation: number;
  readonly healthTimeoutSeconds: number;
  readonly bootTimeoutSeconds: number;
}

export interface MigrateWorkflowResult {
  readonly droplet: { readonly id: number; readonly name: string; readonly ipv4: string };
  readonly configHash: string;
  readonly oldDropletDeleted: boolean;
  readonly monthlyPriceUsd?: number;
}

export interface HealWorkflowInput {
  readonly installationId: string;
}

/** A deploy of an installation that already exists asks for its turn (update `beginDeploy`) and reports back. */
export interface DeployTurnRequest {
  readonly deployWorkflowId: string;
}

/** Sent by a deploy that held the installation and failed (signal `deployEnded`): the hold is released. */
export interface DeployEndedSignal {
  readonly deployWorkflowId: string;
  readonly message: string;
}
