import { ApplicationFailure, condition, currentUpdateInfo, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import { repairsInLastHour } from '../../shared/heal-policy';
import {
  acceptByOf,
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
  SUPERSEDED_BY_TEARDOWN,
  tornDownSignal,
  upgradeSupervisorSignal,
  upgradeSupervisorUpdate,
} from '../../shared/installation-messages';
import {
  configureRequestSchema,
  healRequestSchema,
  migrateRequestSchema,
  upgradeRequestSchema,
  type OperationRequest,
  type QueuedOperation,
} from '../../shared/lifecycle';
import { check } from '../../shared/validation';
import { parseOrRefuse, refusalOfArguments, withoutArguments } from '../validate';
import { enqueue, outcomeOf, refuse } from './queue';
import type { Installation, Outcome } from './state';

/** Registers every handler: the query, and each signal and update parsed once as it arrives. */
export function receive(inst: Installation): void {
  const { state } = inst;
  const refuseWhenRetiring = () => {
    if (state.retiring) throw ApplicationFailure.nonRetryable(`${SUPERSEDED_BY_TEARDOWN}: installation "${inst.id}" is being torn down`, ErrorType.Retiring);
  };
  /** A request that reaches a worker after its sender stopped waiting (its update id says when) is not carried out. */
  const refuseWhenLate = () => {
    const update = currentUpdateInfo();
    const acceptBy = acceptByOf(update?.id);
    if (acceptBy !== undefined && Date.now() > acceptBy) {
      throw ApplicationFailure.nonRetryable(
        `the ${update?.name ?? ''} request arrived after its sender stopped waiting (${new Date(acceptBy).toISOString()}): nothing was done`,
        ErrorType.Expired,
      );
    }
  };
  /** An update's validator: a malformed, late or retiring one is refused before it is accepted. */
  const validating = <S extends z.ZodType>(schema: S, what: string) => ({
    validator: (request: unknown) => {
      parseOrRefuse(schema, request, what);
      refuseWhenLate();
      refuseWhenRetiring();
    },
  });
  /** An update queues its operation and answers with what the operation did; the validator refuses bad input first. */
  const onUpdate = <S extends z.ZodType, R>(schema: S, what: string, request: (input: z.output<S>) => OperationRequest, answer: (outcome: Outcome, input: z.output<S>) => R) =>
    [
      async (raw: unknown): Promise<R> => {
        const input = parseOrRefuse(schema, raw, what);
        return answer(await outcomeOf(inst, enqueue(inst, request(input))), input);
      },
      validating(schema, what),
    ] as const;
  /**
   * A signal has no caller to answer: a bad one is recorded as refused, with the reason, and changes nothing. Once
   * retiring, only what the current operation still needs (`finishing`) is taken.
   */
  const onSignal =
    <S extends z.ZodType>(kind: QueuedOperation['kind'], schema: S, what: string, accept: (value: z.output<S>) => void, finishing = () => false) =>
    (raw: unknown) => {
      const checked = check(schema, raw);
      if (!checked.ok) return refuse(inst, kind, `Invalid ${what}: ${checked.problems}`);
      if (state.retiring && !finishing()) return refuse(inst, kind, `${SUPERSEDED_BY_TEARDOWN}: the installation is being torn down`);
      accept(checked.data);
    };
  /** The deploy that holds the installation reports back even while it retires: the current operation finishes. */
  const holdingDeploy = () => inst.current?.kind === 'deploy';

  setHandler(
    statusQuery,
    withoutArguments('status query', () => ({
      installationId: inst.id,
      desired: state.desired,
      observed: state.observed,
      conditions: state.conditions,
      current: inst.current,
      queue: state.queue,
      recent: state.recent,
      healEvents: state.healEvents,
      orphans: state.orphans ?? [],
      repairs: {
        lastHour: repairsInLastHour(state, Date.now()),
        capPerHour: state.settings.repairCapPerHour,
        backoffUntil: state.backoffUntil === null ? null : new Date(state.backoffUntil).toISOString(),
        consecutiveFailures: state.consecutiveFailures,
      },
      settings: state.settings,
      runs: state.runs,
      retiring: state.retiring,
    })),
  );

  // While a deploy holds the installation, its result (or its failure) ends the hold; otherwise (the first deploy,
  // which started this workflow) the result is adopted in turn.
  setHandler(
    deployedSignal,
    onSignal('adopt', deployedSignalSchema, 'deployed signal', (deployed) => {
      if (inst.current?.kind === 'deploy') inst.deployReport = { deployed };
      else enqueue(inst, { kind: 'adopt', deployed });
    }, holdingDeploy),
  );
  setHandler(
    deployEndedSignal,
    onSignal('deploy', deployEndedSignalSchema, 'deployEnded signal', (ended) => {
      if (inst.current?.kind === 'deploy' && inst.current.deployWorkflowId === ended.deployWorkflowId) inst.deployReport = { ended };
    }, holdingDeploy),
  );
  setHandler(
    beginDeployUpdate,
    async (request) => {
      const { deployWorkflowId } = parseOrRefuse(deployTurnRequestSchema, request, 'beginDeploy input');
      const op = enqueue(inst, { kind: 'deploy', deployWorkflowId });
      await condition(() => inst.current?.id === op.id || state.retiring);
      // Its turn may have come just as the teardown did: then it holds the installation, and the teardown waits.
      if (inst.current?.id !== op.id) refuseWhenRetiring();
      return { granted: true };
    },
    validating(deployTurnRequestSchema, 'beginDeploy input'),
  );
  /** A signal that takes no argument: one sent with arguments is recorded as refused and changes nothing. */
  const withoutArgs = (what: string, act: () => void) => (...args: unknown[]) => {
    const refusal = refusalOfArguments(args, what);
    if (refusal) return refuse(inst, 'retire', refusal);
    act();
  };
  setHandler(retireSignal, withoutArgs('retire signal', () => void (state.retiring = true)));
  setHandler(tornDownSignal, withoutArgs('tornDown signal', () => void (inst.tornDown = state.retiring)));
  setHandler(healSignal, onSignal('heal', healRequestSchema, 'heal input', ({ source }) => void enqueue(inst, { kind: 'heal', source })));
  setHandler(
    upgradeSupervisorSignal,
    onSignal('upgrade', upgradeRequestSchema, 'upgradeSupervisor input', ({ version }) => void enqueue(inst, { kind: 'upgrade', version })),
  );
  setHandler(
    upgradeSupervisorUpdate,
    ...onUpdate(upgradeRequestSchema, 'upgradeSupervisor input', ({ version }) => ({ kind: 'upgrade', version }), (outcome, { version }) =>
      outcome.kind === 'upgrade' ? outcome.result : { from: null, to: version, downtimeSeconds: null, notConnectedSeconds: null, ...unanswered(outcome, 'upgrade') },
    ),
  );
  setHandler(migrateSignal, onSignal('migrate', migrateRequestSchema, 'migrate input', (request) => void enqueue(inst, { kind: 'migrate', request })));
  setHandler(
    migrateUpdate,
    ...onUpdate(migrateRequestSchema, 'migrate input', (request) => ({ kind: 'migrate', request }), (outcome) =>
      outcome.kind === 'migrate' ? outcome.result : { from: null, to: null, ...unanswered(outcome, 'migrate') },
    ),
  );
  setHandler(
    configureUpdate,
    ...onUpdate(configureRequestSchema, 'configure input', (patch) => ({ kind: 'configure', patch }), (outcome) => {
      if (outcome.kind === 'configure') return outcome.result;
      throw ApplicationFailure.nonRetryable('message' in outcome ? outcome.message : 'configure ended without a result', ErrorType.Rejected);
    }),
  );
}

/** The answer of an update whose operation ended without a result of its own. */
function unanswered(outcome: Outcome, what: string): { outcome: 'superseded' | 'cancelled' | 'failed'; message: string } {
  if (outcome.kind === 'superseded') return { outcome: 'superseded', message: `replaced by ${outcome.by}, a newer ${what} request` };
  if (outcome.kind === 'cancelled') return { outcome: 'cancelled', message: outcome.message };
  return { outcome: 'failed', message: outcome.kind === 'failed' ? outcome.message : 'ended without a result' };
}
