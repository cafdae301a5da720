import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import { repairsInLastHour } from '../../shared/heal-policy';
import {
  beginDeployUpdate,
  configureUpdate,
  deployedSignal,
  deployedSignalSchema,
  deployEndedSignal,
  deployEndedSignalSchema,
  deployTurnRequestSchema,
  healSignal,
  migrateSignal,
  migrateUpdate,
  retireSignal,
  statusQuery,
  upgradeSupervisorSignal,
  upgradeSupervisorUpdate,
} from '../../shared/installation-messages';
import {
  configureRequestSchema,
  healRequestSchema,
  migrateRequestSchema,
  upgradeRequestSchema,
  type QueuedOperation,
} from '../../shared/lifecycle';
import { describeZodError } from '../../shared/validation';
import { enqueue, outcomeOf, refuse } from './queue';
import type { Installation } from './state';

/** Registers every handler: the query, and each signal and update parsed once as it arrives. */
export function receive(inst: Installation): void {
  const { state } = inst;
  const parse = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
    const parsed = schema.safeParse(value ?? {});
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${describeZodError(parsed.error)}`, ErrorType.InvalidInput);
    return parsed.data;
  };
  const refuseWhenRetiring = () => {
    if (state.retiring) throw ApplicationFailure.nonRetryable(`installation "${inst.id}" is being torn down`, ErrorType.Retiring);
  };
  /** A signal has no caller to answer: a bad one is recorded as skipped, with the reason, and changes nothing. */
  const onSignal = <S extends z.ZodType>(kind: QueuedOperation['kind'], schema: S, what: string, accept: (value: z.output<S>) => void) => (raw: unknown) => {
    const parsed = schema.safeParse(raw ?? {});
    if (!parsed.success) return refuse(inst, kind, `Invalid ${what}: ${describeZodError(parsed.error)}`);
    if (state.retiring) return refuse(inst, kind, 'the installation is being torn down');
    accept(parsed.data);
  };

  setHandler(statusQuery, () => ({
    installationId: inst.id,
    desired: state.desired,
    observed: state.observed,
    conditions: state.conditions,
    current: inst.current,
    queue: state.queue,
    recent: state.recent,
    healEvents: state.healEvents,
    repairs: {
      lastHour: repairsInLastHour(state, Date.now()),
      capPerHour: state.settings.repairCapPerHour,
      backoffUntil: state.backoffUntil === null ? null : new Date(state.backoffUntil).toISOString(),
      consecutiveFailures: state.consecutiveFailures,
    },
    settings: state.settings,
    runs: state.runs,
    retiring: state.retiring,
  }));

  // While a deploy holds the installation, its result (or its failure) ends the hold; otherwise (the first deploy,
  // which started this workflow) the result is adopted in turn.
  setHandler(
    deployedSignal,
    onSignal('adopt', deployedSignalSchema, 'deployed signal', (deployed) => {
      if (inst.current?.kind === 'deploy') inst.deployReport = { deployed };
      else enqueue(inst, { kind: 'adopt', deployed });
    }),
  );
  setHandler(
    deployEndedSignal,
    onSignal('deploy', deployEndedSignalSchema, 'deployEnded signal', (ended) => {
      if (inst.current?.kind === 'deploy' && inst.current.deployWorkflowId === ended.deployWorkflowId) inst.deployReport = { ended };
    }),
  );
  setHandler(
    beginDeployUpdate,
    async (request) => {
      const { deployWorkflowId } = parse(deployTurnRequestSchema, request, 'beginDeploy input');
      const op = enqueue(inst, { kind: 'deploy', deployWorkflowId });
      await condition(() => inst.current?.id === op.id || state.retiring);
      refuseWhenRetiring();
      return { granted: true };
    },
    {
      validator: (request) => {
        parse(deployTurnRequestSchema, request, 'beginDeploy input');
        refuseWhenRetiring();
      },
    },
  );
  setHandler(retireSignal, () => void (state.retiring = true));
  setHandler(healSignal, onSignal('heal', healRequestSchema, 'heal input', ({ source }) => void enqueue(inst, { kind: 'heal', source })));
  setHandler(
    upgradeSupervisorSignal,
    onSignal('upgrade', upgradeRequestSchema, 'upgradeSupervisor input', ({ version }) => void enqueue(inst, { kind: 'upgrade', version })),
  );
  setHandler(
    upgradeSupervisorUpdate,
    async (request) => {
      const { version } = parse(upgradeRequestSchema, request, 'upgradeSupervisor input');
      const outcome = await outcomeOf(inst, enqueue(inst, { kind: 'upgrade', version }));
      const none = { from: null, to: version, downtimeSeconds: null, notConnectedSeconds: null };
      if (outcome.kind === 'upgrade') return outcome.result;
      if (outcome.kind === 'superseded') return { ...none, outcome: 'superseded', message: `replaced by ${outcome.by}, a newer upgrade request` };
      if (outcome.kind === 'cancelled') return { ...none, outcome: 'cancelled', message: outcome.message };
      return { ...none, outcome: 'failed', message: outcome.kind === 'failed' ? outcome.message : 'ended without a result' };
    },
    {
      validator: (request) => {
        parse(upgradeRequestSchema, request, 'upgradeSupervisor input');
        refuseWhenRetiring();
      },
    },
  );
  setHandler(migrateSignal, onSignal('migrate', migrateRequestSchema, 'migrate input', (request) => void enqueue(inst, { kind: 'migrate', request })));
  setHandler(
    migrateUpdate,
    async (raw) => {
      const request = parse(migrateRequestSchema, raw, 'migrate input');
      const outcome = await outcomeOf(inst, enqueue(inst, { kind: 'migrate', request }));
      if (outcome.kind === 'migrate') return outcome.result;
      if (outcome.kind === 'superseded') return { outcome: 'superseded', message: `replaced by ${outcome.by}, a newer migrate request`, from: null, to: null };
      if (outcome.kind === 'cancelled') return { outcome: 'cancelled', message: outcome.message, from: null, to: null };
      return { outcome: 'failed', message: outcome.kind === 'failed' ? outcome.message : 'ended without a result', from: null, to: null };
    },
    {
      validator: (request) => {
        parse(migrateRequestSchema, request, 'migrate input');
        refuseWhenRetiring();
      },
    },
  );
  setHandler(
    configureUpdate,
    async (raw) => {
      const patch = parse(configureRequestSchema, raw, 'configure input');
      const outcome = await outcomeOf(inst, enqueue(inst, { kind: 'configure', patch }));
      if (outcome.kind === 'configure') return outcome.result;
      throw ApplicationFailure.nonRetryable('message' in outcome ? outcome.message : 'configure ended without a result', ErrorType.Rejected);
    },
    { validator: (request) => void parse(configureRequestSchema, request, 'configure input') },
  );
}
