import { z } from 'zod';
import { desiredStateSchema, supervisorVersionSchema } from './deploy';
import { CONDITION_TYPES } from './heal-policy';
import { installationIdSchema } from './ids';
import { deployedSignalSchema, deployTurnRequestSchema } from './installation-messages';
import {
  configureRequestSchema,
  DEFAULT_LIFECYCLE_SETTINGS,
  healRequestSchema,
  lifecycleSettingsSchema,
  migrateRequestSchema,
} from './lifecycle';

/**
 * What the installation entity carries across continue-as-new, as a schema: the `carried` part of its input is
 * parsed like any other input, so a malformed one (forged with `temporal workflow start`) fails the run once with
 * InvalidInput naming the field, instead of failing workflow tasks forever. src/workflows/installation/state.ts
 * checks at compile time that this describes exactly its State.
 */

/** Records kept in `recent`, newest first. */
export const RECENT_LIMIT = 20;
/** Heal decisions kept in `healEvents`, newest first. */
export const EVENT_LIMIT = 50;
/** Longest message the entity records; longer ones are cut (state.ts), so a carried state always parses. */
export const MESSAGE_LIMIT = 4000;

/** Free text that came from outside the entity (an activity's error): bounded only against absurd sizes. */
const text = z.string().max(65_536);
const message = z.string().max(MESSAGE_LIMIT);
const isoTime = z.iso.datetime();
const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

const observationSchema = z
  .object({
    at: isoTime,
    droplet: z.object({ found: z.boolean(), status: z.string().max(50).nullable(), ipv4: z.string().max(45).nullable() }).strict(),
    ssh: z.object({ ok: z.boolean(), error: text.nullable(), hostKeyMismatch: z.boolean() }).strict(),
    docker: z.object({ running: z.boolean().nullable() }).strict(),
    supervisor: z
      .object({
        running: z.boolean().nullable(),
        restarting: z.boolean().nullable(),
        connected: z.boolean().nullable(),
        tag: z.string().max(128).nullable(),
        restartCount: count.nullable(),
      })
      .strict(),
    disk: z.object({ freePercent: z.number().min(0).max(100).nullable() }).strict(),
    config: z.object({ hash: z.string().max(128).nullable(), desiredHash: z.string().max(128).nullable() }).strict(),
    credentials: z.object({ accepted: z.boolean().nullable(), status: z.number().int().nullable(), error: text.nullable() }).strict(),
    calls: z.object({ digitalocean: count, ssh: count, railway: count, webapp: count }).strict(),
  })
  .strict();

const conditionSchema = z
  .object({
    type: z.enum(CONDITION_TYPES),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z.string().max(100),
    message: text,
    since: isoTime,
  })
  .strict();

const RECORD_KINDS = ['adopt', 'deploy', 'upgrade', 'migrate', 'heal', 'configure', 'retire'] as const;
const OPERATION_OUTCOMES = ['succeeded', 'failed', 'rolled-back', 'unchanged', 'superseded', 'skipped', 'cancelled', 'refused'] as const;
const HEAL_ACTIONS = ['none', 'replace-droplet', 'power-on', 'power-cycle', 'start-docker', 'prune', 'reapply-config', 'restart-supervisor', 'operator', 'sweep-orphans'] as const;
const HEAL_DECISIONS = [
  'observed-healthy',
  'repaired',
  'repair-failed',
  'capped',
  'backing-off',
  'needs-operator',
  'resolved',
  'orphan-found',
  'orphan-removed',
  'sweep-failed',
] as const;

const operationId = z.string().min(1).max(100);
const queued = { id: operationId, requestedAt: isoTime };
const queuedOperationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('adopt'), deployed: deployedSignalSchema, ...queued }).strict(),
  z.object({ kind: z.literal('deploy'), deployWorkflowId: deployTurnRequestSchema.shape.deployWorkflowId, ...queued }).strict(),
  z.object({ kind: z.literal('upgrade'), version: supervisorVersionSchema, ...queued }).strict(),
  z.object({ kind: z.literal('migrate'), request: migrateRequestSchema, ...queued }).strict(),
  z.object({ kind: z.literal('heal'), source: healRequestSchema.shape.source, ...queued }).strict(),
  z.object({ kind: z.literal('configure'), patch: configureRequestSchema, ...queued }).strict(),
]);

const operationRecordSchema = z
  .object({
    id: operationId,
    kind: z.enum(RECORD_KINDS),
    outcome: z.enum(OPERATION_OUTCOMES),
    message,
    requestedAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime,
    details: z.exactOptional(z.record(z.string().max(100), z.unknown())),
  })
  .strict();

const healEventSchema = z
  .object({
    at: isoTime,
    action: z.enum(HEAL_ACTIONS),
    decision: z.enum(HEAL_DECISIONS),
    reason: message,
    calls: z.exactOptional(observationSchema.shape.calls),
  })
  .strict();

const orphanRecordSchema = z
  .object({
    kind: z.enum(['droplet', 'firewall', 'sshKey']),
    id: z.string().min(1).max(100),
    name: z.string().max(255),
    reason: message,
    removable: z.boolean(),
    since: isoTime,
  })
  .strict();

export const installationStateSchema = z
  .object({
    desired: desiredStateSchema.nullable(),
    observed: observationSchema.nullable(),
    conditions: z.array(conditionSchema).max(CONDITION_TYPES.length),
    queue: z.array(queuedOperationSchema).max(5000),
    recent: z.array(operationRecordSchema).max(RECENT_LIMIT),
    healEvents: z.array(healEventSchema).max(EVENT_LIMIT),
    orphans: z.exactOptional(z.array(orphanRecordSchema).max(1000)),
    lastSweepAt: z.exactOptional(epochMs),
    repairTimes: z.array(epochMs).max(1000),
    consecutiveFailures: count,
    backoffUntil: epochMs.nullable(),
    settings: lifecycleSettingsSchema,
    runs: count,
    seq: count,
    retiring: z.boolean(),
  })
  .strict();
export type CarriedState = z.output<typeof installationStateSchema>;

export const installationInputSchema = z
  .object({
    installationId: installationIdSchema,
    settings: lifecycleSettingsSchema.default({ ...DEFAULT_LIFECYCLE_SETTINGS }),
    /** The entity's own state, carried across continue-as-new (callers leave it out). */
    carried: installationStateSchema.optional(),
  })
  .strict();
export type InstallationInput = z.input<typeof installationInputSchema>;
