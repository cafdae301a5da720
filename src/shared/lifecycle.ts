import { z } from 'zod';
import type { Condition, Observation, RepairAction } from './heal-policy';
import { desiredStateSchema, imageSlugSchema, regionSlugSchema, sizeSlugSchema, supervisorVersionSchema, type DesiredState } from './deploy';
import type { DeployedSignal } from './installation-messages';
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
    size: sizeSlugSchema.optional(),
    region: regionSlugSchema.optional(),
    image: imageSlugSchema.optional(),
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
  /** How long heal records a resource with the installation's tag or name that is not desired before removing it. */
  orphanGraceSeconds: z.number().int().min(0).max(7 * 86_400),
};

export const DEFAULT_LIFECYCLE_SETTINGS = {
  healIntervalSeconds: 60,
  repairCapPerHour: 6,
  repairBackoffSeconds: 30,
  healthTimeoutSeconds: 300,
  bootTimeoutSeconds: 600,
  minFreeDiskPercent: 10,
  orphanGraceSeconds: 600,
} as const;

export const lifecycleSettingsSchema = z
  .object({
    healIntervalSeconds: settingsShape.healIntervalSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.healIntervalSeconds),
    repairCapPerHour: settingsShape.repairCapPerHour.default(DEFAULT_LIFECYCLE_SETTINGS.repairCapPerHour),
    repairBackoffSeconds: settingsShape.repairBackoffSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.repairBackoffSeconds),
    healthTimeoutSeconds: settingsShape.healthTimeoutSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.healthTimeoutSeconds),
    bootTimeoutSeconds: settingsShape.bootTimeoutSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.bootTimeoutSeconds),
    minFreeDiskPercent: settingsShape.minFreeDiskPercent.default(DEFAULT_LIFECYCLE_SETTINGS.minFreeDiskPercent),
    orphanGraceSeconds: settingsShape.orphanGraceSeconds.default(DEFAULT_LIFECYCLE_SETTINGS.orphanGraceSeconds),
  })
  .strict();
export type LifecycleSettings = z.output<typeof lifecycleSettingsSchema>;
export type LifecycleSettingsInput = z.input<typeof lifecycleSettingsSchema>;
/** A change of some settings: no defaults, so what is not named stays as it is. */
export const configureRequestSchema = z.object(settingsShape).partial().strict();
export type ConfigureRequest = z.input<typeof configureRequestSchema>;

/** Input of the `migrate` workflow (the installation starts it as a child, for its own desired state). */
export const migrateWorkflowInputSchema = z
  .object({
    installationId: installationIdSchema,
    from: desiredStateSchema,
    target: migrateRequestSchema.pick({ size: true, region: true, image: true }).required(),
    generation: z.number().int().positive(),
    healthTimeoutSeconds: settingsShape.healthTimeoutSeconds,
    bootTimeoutSeconds: settingsShape.bootTimeoutSeconds,
  })
  .strict()
  .refine((i) => i.generation > i.from.generation, { path: ['generation'], message: 'must be above from.generation' });
export type MigrateWorkflowInput = z.input<typeof migrateWorkflowInputSchema>;

// --- status -----------------------------------------------------------------------------------------------------

/** A request the installation queues and runs one at a time; parsed when it arrives, so it is always well formed. */
export type OperationRequest =
  | { readonly kind: 'adopt'; readonly deployed: DeployedSignal }
  | { readonly kind: 'deploy'; readonly deployWorkflowId: string }
  | { readonly kind: 'upgrade'; readonly version: string }
  | { readonly kind: 'migrate'; readonly request: z.output<typeof migrateRequestSchema> }
  | { readonly kind: 'heal'; readonly source: z.output<typeof healRequestSchema>['source'] }
  | { readonly kind: 'configure'; readonly patch: z.output<typeof configureRequestSchema> };

export type OperationKind = OperationRequest['kind'];
/** What a record is about: an operation, or a `retire` signal refused on arrival. */
export type RecordKind = OperationKind | 'retire';

export type QueuedOperation = OperationRequest & { readonly id: string; readonly requestedAt: string };

export type OperationOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'unchanged' | 'superseded' | 'skipped' | 'cancelled' | 'refused';

export interface OperationRecord {
  readonly id: string;
  readonly kind: RecordKind;
  readonly outcome: OperationOutcome;
  readonly message: string;
  readonly requestedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string;
  readonly details?: Record<string, unknown>;
}

/**
 * A DigitalOcean resource with the installation's tag or name that is not in its desired state: a droplet of another
 * generation or a second one of the same name, a second firewall, an SSH key with another public key. Heal records it
 * and removes it after `orphanGraceSeconds`; one that only carries the tag (a name trigger-ops never gives) is
 * recorded and never removed.
 */
export interface OrphanResource {
  readonly kind: 'droplet' | 'firewall' | 'sshKey';
  /** DigitalOcean's id (droplet and key ids as decimal strings). */
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  readonly removable: boolean;
}

/** An orphan as the installation remembers it: first seen at `since` (ISO). */
export interface OrphanRecord extends OrphanResource {
  readonly since: string;
}

/** One heal decision, with its reason: a repair done, a repair held back (cap, backoff), "healthy", or an orphan. */
export interface HealEvent {
  readonly at: string;
  readonly action: RepairAction | 'sweep-orphans';
  readonly decision:
    | 'observed-healthy'
    | 'repaired'
    | 'repair-failed'
    | 'capped'
    | 'backing-off'
    | 'needs-operator'
    | 'resolved'
    | 'orphan-found'
    | 'orphan-removed'
    | 'sweep-failed';
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
  /** What heal found with the installation's tag or name that is not desired, and since when. */
  readonly orphans: readonly OrphanRecord[];
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

