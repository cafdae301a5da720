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
  controllerCheck: 'controllerCheck',
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
/** Teardown: finish the current operation, cancel the queue, end. */
export const retireSignal = defineSignal('retire');
/** A deploy of this (existing) installation waits for its turn: it returns when every earlier operation is done. */
export const beginDeployUpdate = defineUpdate<{ readonly granted: true }, [DeployTurnRequest]>('beginDeploy');
/** A deploy that held the installation failed (it rolled back what it created): the next operation may run. */
export const deployEndedSignal = defineSignal<[DeployEndedSignal]>('deployEnded');

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
  signals: [upgradeSupervisorSignal, migrateSignal, healSignal, deployedSignal, retireSignal, deployEndedSignal].map((m) => m.name),
  updates: [upgradeSupervisorUpdate, migrateUpdate, configureUpdate, beginDeployUpdate].map((m) => m.name),
  queries: [statusQuery.name, PROGRESS_QUERY_NAME],
} as const;
