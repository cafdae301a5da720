import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { deployResultSchema } from './deploy';
import type {
  ConfigureRequest,
  DeployTurnRequest,
  HealRequest,
  InstallationStatus,
  LifecycleSettings,
  MigrateRequest,
  MigrateResult,
  UpgradeRequest,
  UpgradeResult,
} from './lifecycle';

/**
 * Every message of the installation entity (`installation:<id>`), defined once: the workflow registers its handlers
 * with these, activities and the CLI send them, and the README's `temporal` recipes use their names (a test keeps
 * them in step). defineSignal & co. only make `{ type, name }` values, so this module is safe everywhere.
 */

/** Workflow types as registered (src/workflows/index.ts exports functions of these names). */
export const WORKFLOW_TYPES = {
  installation: 'installation',
  heal: 'heal',
  deploy: 'deploy',
  deployPlan: 'deployPlan',
  migrate: 'migrate',
  teardown: 'teardown',
  logs: 'logs',
  configureEmail: 'configureEmail',
  emailShow: 'emailShow',
  login: 'login',
  links: 'links',
  controllerCheck: 'controllerCheck',
  databaseMigrate: 'databaseMigrate',
} as const;

/** The installation's state: desired, observed, conditions, the queue and what it did. */
export const statusQuery = defineQuery<InstallationStatus>('status');
/** Fire-and-forget upgrade (the Temporal CLI's `workflow signal`); the outcome is recorded in `status`. */
export const upgradeSupervisorSignal = defineSignal<[UpgradeRequest]>('upgradeSupervisor');
/** Upgrade with an answer: validated before it is accepted, returns when done. */
export const upgradeSupervisorUpdate = defineUpdate<UpgradeResult, [UpgradeRequest]>('upgradeSupervisor');
export const migrateSignal = defineSignal<[MigrateRequest]>('migrate');
export const migrateUpdate = defineUpdate<MigrateResult, [MigrateRequest]>('migrate');
/** A heal check (the schedule's heal workflow sends it). */
export const healSignal = defineSignal<[HealRequest?]>('heal');
export const configureUpdate = defineUpdate<LifecycleSettings, [ConfigureRequest]>('configure');
/** Deploy's hand-over: its result becomes the desired state. */
export const deployedSignal = defineSignal<[DeployedSignal]>('deployed');
/**
 * Teardown's first step: finish the current operation, cancel the queue ("superseded by teardown") and refuse every
 * request from now on. Sent with start, so a teardown always has a retiring installation to guard it.
 */
export const retireSignal = defineSignal('retire');
/** Teardown's last step: everything is deleted, the retired installation ends (a later deploy starts afresh). */
export const tornDownSignal = defineSignal('tornDown');
/** Why a request queued behind a teardown, or sent while it runs, was not carried out. */
export const SUPERSEDED_BY_TEARDOWN = 'superseded by teardown';
/** A deploy of this (existing) installation waits for its turn: it returns when every earlier operation is done. */
export const beginDeployUpdate = defineUpdate<{ readonly granted: true }, [DeployTurnRequest]>('beginDeploy');
/** A deploy that held the installation failed (it rolled back what it created): the next operation may run. */
export const deployEndedSignal = defineSignal<[DeployEndedSignal]>('deployEnded');

/**
 * The update id a client gives a request it waits on (the CLI's upgrade and migrate): unique per request, so
 * sending it again after an ambiguous failure is the same request to the server, and ending in the time its sender
 * stops waiting for a worker to accept it. The entity refuses it after that time (receive.ts), so a request that
 * sat unaccepted on the server while no worker ran is never carried out after its sender said "nothing was done".
 */
export function requestUpdateId(name: string, unique: string, acceptByMs: number): string {
  return `${name}:${unique}:accept-by:${acceptByMs}`;
}

/** The deadline in an update id made by requestUpdateId (epoch ms); undefined for any other id. */
export function acceptByOf(updateId: string | undefined): number | undefined {
  const match = /:accept-by:(\d{1,15})$/.exec(updateId ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Where a deploy, migrate or teardown workflow is: `{ step }` (deploy adds the completed steps). */
export const PROGRESS_QUERY_NAME = 'progress';

export const deployedSignalSchema = z
  .object({ result: deployResultSchema, apiUrl: z.string().url().max(2048), generation: z.number().int().positive() })
  .strict();
export type DeployedSignal = z.output<typeof deployedSignalSchema>;

export const deployTurnRequestSchema = z.object({ deployWorkflowId: z.string().min(1).max(300) }).strict();

export const deployEndedSignalSchema = z.object({ deployWorkflowId: z.string().min(1).max(300), message: z.string().max(4000) }).strict();
export type DeployEndedSignal = z.output<typeof deployEndedSignalSchema>;

/** Every message name a client may send or ask, by kind (the README recipe test reads this). */
export const INSTALLATION_MESSAGE_NAMES = {
  signals: [upgradeSupervisorSignal, migrateSignal, healSignal, deployedSignal, retireSignal, tornDownSignal, deployEndedSignal].map((m) => m.name),
  updates: [upgradeSupervisorUpdate, migrateUpdate, configureUpdate, beginDeployUpdate].map((m) => m.name),
  queries: [statusQuery.name, PROGRESS_QUERY_NAME],
} as const;
