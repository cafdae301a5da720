import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { ErrorType } from '../shared/errors';
import { workflowIds } from '../shared/ids';
import {
  configureRequestSchema,
  healRequestSchema,
  installationInputSchema,
  lifecycleSettingsSchema,
  migrateRequestSchema,
  upgradeRequestSchema,
  type ConfigureRequest,
  type DeployedSignal,
  type DeployEndedSignal,
  type DeployTurnRequest,
  type DesiredState,
  type HealEvent,
  type HealRequest,
  type InstallationInput,
  type InstallationStatus,
  type LifecycleSettings,
  type MigrateRequest,
  type MigrateResult,
  type OperationKind,
  type OperationOutcome,
  type OperationRecord,
  type QueuedOperation,
  type UpgradeRequest,
  type UpgradeResult,
} from '../shared/lifecycle';
import { conditionsFrom, decideHeal, decideRepair, repairEnded, repairStarted, type Condition, type Observation, type RepairBudget, type RepairDecision } from '../shared/heal-policy';
import { describeZodError } from '../shared/validation';
import { migrate } from './migrate';
import { acts } from './activity-proxy';
import { failureType, rootCauseMessage } from './saga';
import { parseInput } from './validate';

export const statusQuery = defineQuery<InstallationStatus>('status');
export const upgradeSupervisorSignal = defineSignal<[UpgradeRequest]>('upgradeSupervisor');
export const upgradeSupervisorUpdate = defineUpdate<UpgradeResult, [UpgradeRequest]>('upgradeSupervisor');
export const migrateSignal = defineSignal<[MigrateRequest]>('migrate');
export const migrateUpdate = defineUpdate<MigrateResult, [MigrateRequest]>('migrate');
export const healSignal = defineSignal<[HealRequest?]>('heal');
export const configureUpdate = defineUpdate<LifecycleSettings, [ConfigureRequest]>('configure');
/** Deploy's hand-over (src/activities/lifecycle/temporal-steps.ts sends it by this name). */
export const deployedSignal = defineSignal<[DeployedSignal]>('deployed');
/** Teardown: finish the current operation, cancel the queue, end. */
export const retireSignal = defineSignal('retire');
/** A deploy of this (existing) installation waits for its turn: it returns when every earlier operation is done. */
export const beginDeployUpdate = defineUpdate<{ readonly granted: true }, [DeployTurnRequest]>('beginDeploy');
/** A deploy that held the installation failed (it rolled back what it created): the next operation may run. */
export const deployEndedSignal = defineSignal<[DeployEndedSignal]>('deployEnded');

/** How long a deploy may hold the installation without reporting back (a deploy workflow that was terminated). */
const DEPLOY_HOLD_LIMIT = '2 hours';

const RECENT_LIMIT = 20;
const EVENT_LIMIT = 50;
const HOUR_MS = 3_600_000;

/** What survives continue-as-new. */
interface State {
  desired: DesiredState | null;
  observed: Observation | null;
  conditions: Condition[];
  queue: QueuedOperation[];
  recent: OperationRecord[];
  healEvents: HealEvent[];
  repairTimes: number[];
  consecutiveFailures: number;
  backoffUntil: number | null;
  settings: LifecycleSettings;
  runs: number;
  seq: number;
  retiring: boolean;
}

class Rejected extends Error {}

/**
 * The installation entity (id `installation:<id>`): owns the desired state and runs mutating operations one at a
 * time (adopt a deploy, upgrade, migrate, heal, configure), queueing the rest; a newer upgrade or migrate replaces
 * a queued older one, and a heal already queued absorbs another. Continues as new when the server suggests it,
 * carrying state and queue.
 */
export async function installation(input: InstallationInput): Promise<{ readonly retired: true; readonly installationId: string }> {
  const spec = parseInput(installationInputSchema, input, 'installation');
  const { installationId } = spec;
  const state: State = (spec.carried as State | undefined) ?? {
    desired: null,
    observed: null,
    conditions: [],
    queue: [],
    recent: [],
    healEvents: [],
    repairTimes: [],
    consecutiveFailures: 0,
    backoffUntil: null,
    settings: spec.settings,
    runs: 0,
    seq: 0,
    retiring: false,
  };
  if (spec.carried !== undefined) state.runs += 1;

  const results = new Map<string, unknown>();
  let current: (QueuedOperation & { startedAt: string; step: string }) | null = null;
  const now = () => new Date(Date.now()).toISOString();

  const record = (op: QueuedOperation, outcome: OperationOutcome, message: string, startedAt: string | null, details?: Record<string, unknown>) => {
    state.recent.unshift({ id: op.id, kind: op.kind, outcome, message, requestedAt: op.requestedAt, startedAt, finishedAt: now(), ...(details ? { details } : {}) });
    state.recent.length = Math.min(state.recent.length, RECENT_LIMIT);
  };
  const event = (e: Omit<HealEvent, 'at'>) => {
    state.healEvents.unshift({ at: now(), ...e });
    state.healEvents.length = Math.min(state.healEvents.length, EVENT_LIMIT);
    log.info('heal decision', { installationId, action: e.action, decision: e.decision, reason: e.reason });
  };

  /** Queues a request; a newer upgrade/migrate replaces a queued older one, a second queued heal is absorbed. */
  const enqueue = (kind: OperationKind, args: Record<string, unknown>): QueuedOperation => {
    state.seq += 1;
    const op: QueuedOperation = { id: `${kind}-${state.seq}`, kind, requestedAt: now(), args };
    if (kind === 'heal') {
      const queued = state.queue.find((q) => q.kind === 'heal');
      if (queued) {
        record(op, 'superseded', `collapsed into ${queued.id}, already queued`, null);
        return queued;
      }
    }
    if (kind === 'upgrade' || kind === 'migrate') {
      const index = state.queue.findIndex((q) => q.kind === kind);
      const older = state.queue[index];
      if (older) {
        state.queue[index] = op;
        record(older, 'superseded', `replaced by ${op.id}, a newer ${kind} request`, null);
        results.set(older.id, { superseded: op.id });
        return op;
      }
    }
    state.queue.push(op);
    return op;
  };

  const validate = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
    const parsed = schema.safeParse(value ?? {});
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${describeZodError(parsed.error)}`, ErrorType.InvalidInput);
    return parsed.data;
  };
  const refuseWhenRetiring = () => {
    if (state.retiring) throw ApplicationFailure.nonRetryable(`installation "${installationId}" is being torn down`, ErrorType.Retiring);
  };

  const waitFor = async (op: QueuedOperation): Promise<unknown> => {
    await condition(() => results.has(op.id));
    const r = results.get(op.id);
    results.delete(op.id);
    return r;
  };

  setHandler(statusQuery, () => {
    const hourAgo = Date.now() - HOUR_MS;
    return {
      installationId,
      desired: state.desired,
      observed: state.observed,
      conditions: state.conditions,
      current,
      queue: state.queue,
      recent: state.recent,
      healEvents: state.healEvents,
      repairs: {
        lastHour: state.repairTimes.filter((t) => t > hourAgo).length,
        capPerHour: state.settings.repairCapPerHour,
        backoffUntil: state.backoffUntil === null ? null : new Date(state.backoffUntil).toISOString(),
        consecutiveFailures: state.consecutiveFailures,
      },
      settings: state.settings,
      runs: state.runs,
      retiring: state.retiring,
    };
  });

  // While a deploy holds the installation, its result (or its failure) ends the hold; otherwise (the first deploy,
  // which started this workflow) the result is adopted in turn.
  let deployReport: { deployed?: DeployedSignal; ended?: DeployEndedSignal } | undefined;
  setHandler(deployedSignal, (deployed) => {
    if (current?.kind === 'deploy') deployReport = { deployed };
    else enqueue('adopt', { deployed });
  });
  setHandler(deployEndedSignal, (ended) => {
    if (current?.kind === 'deploy' && current.args['deployWorkflowId'] === ended.deployWorkflowId) deployReport = { ended };
  });
  setHandler(
    beginDeployUpdate,
    async (request) => {
      const op = enqueue('deploy', { deployWorkflowId: request.deployWorkflowId });
      await condition(() => current?.id === op.id || state.retiring);
      refuseWhenRetiring();
      return { granted: true };
    },
    {
      validator: (request) => {
        if (!request || typeof request.deployWorkflowId !== 'string') {
          throw ApplicationFailure.nonRetryable('beginDeploy needs {deployWorkflowId}', ErrorType.InvalidInput);
        }
        refuseWhenRetiring();
      },
    },
  );
  setHandler(retireSignal, () => void (state.retiring = true));
  setHandler(healSignal, (request) => {
    const parsed = healRequestSchema.safeParse(request ?? {});
    enqueue('heal', { source: parsed.success ? parsed.data.source : 'manual' });
  });
  setHandler(upgradeSupervisorSignal, (request) => {
    const parsed = upgradeRequestSchema.safeParse(request ?? {});
    if (!parsed.success || state.retiring) {
      state.seq += 1;
      const op: QueuedOperation = { id: `upgrade-${state.seq}`, kind: 'upgrade', requestedAt: now(), args: { request } };
      record(op, 'skipped', parsed.success ? 'the installation is being torn down' : `Invalid upgradeSupervisor input: ${describeZodError(parsed.error)}`, null);
      return;
    }
    enqueue('upgrade', { version: parsed.data.version });
  });
  setHandler(
    upgradeSupervisorUpdate,
    async (request) => {
      const { version } = validate(upgradeRequestSchema, request, 'upgradeSupervisor input');
      const op = enqueue('upgrade', { version });
      const r = await waitFor(op);
      if (r && typeof r === 'object' && 'superseded' in r) {
        return { outcome: 'superseded', from: null, to: version, message: `replaced by ${String(r.superseded)}, a newer upgrade request`, downtimeSeconds: null, notConnectedSeconds: null };
      }
      return r as UpgradeResult;
    },
    {
      validator: (request) => {
        validate(upgradeRequestSchema, request, 'upgradeSupervisor input');
        refuseWhenRetiring();
      },
    },
  );
  setHandler(migrateSignal, (request) => {
    const parsed = migrateRequestSchema.safeParse(request ?? {});
    if (!parsed.success || state.retiring) {
      state.seq += 1;
      const op: QueuedOperation = { id: `migrate-${state.seq}`, kind: 'migrate', requestedAt: now(), args: {} };
      record(op, 'skipped', parsed.success ? 'the installation is being torn down' : `Invalid migrate input: ${describeZodError(parsed.error)}`, null);
      return;
    }
    enqueue('migrate', { ...parsed.data });
  });
  setHandler(
    migrateUpdate,
    async (request) => {
      const target = validate(migrateRequestSchema, request, 'migrate input');
      const op = enqueue('migrate', { ...target });
      const r = await waitFor(op);
      if (r && typeof r === 'object' && 'superseded' in r) {
        return { outcome: 'superseded', message: `replaced by ${String(r.superseded)}, a newer migrate request`, from: null, to: null };
      }
      return r as MigrateResult;
    },
    {
      validator: (request) => {
        validate(migrateRequestSchema, request, 'migrate input');
        refuseWhenRetiring();
      },
    },
  );
  setHandler(
    configureUpdate,
    async (request) => {
      const patch = validate(configureRequestSchema, request, 'configure input');
      const op = enqueue('configure', { ...patch });
      return (await waitFor(op)) as LifecycleSettings;
    },
    { validator: (request) => void validate(configureRequestSchema, request, 'configure input') },
  );

  // --- operations -----------------------------------------------------------------------------------------------

  const setStep = (step: string) => {
    if (current) current.step = step;
  };

  const runUpgrade = async (version: string, opId: string): Promise<UpgradeResult> => {
    const desired = state.desired;
    const base = { from: desired?.supervisorVersion ?? null, to: version, downtimeSeconds: null, notConnectedSeconds: null };
    if (!desired) return { ...base, outcome: 'rejected', message: 'nothing is deployed yet: run deploy first' };
    setStep('check-release-line');
    try {
      const preflight = await acts.preflightRailway({ projectId: desired.railway.projectId, environmentId: desired.railway.environmentId, generateMissingSecrets: false });
      await acts.checkSupervisorVersion({ supervisorVersion: version, webappVersion: preflight.webappVersion });
    } catch (err) {
      return { ...base, outcome: 'rejected', message: rootCauseMessage(err) };
    }
    setStep('pull-and-recreate');
    const timeout = state.settings.healthTimeoutSeconds;
    const host = { installationId, ipv4: desired.droplet.ipv4, healthTimeoutSeconds: timeout };
    let up;
    try {
      up = await acts.upgradeSupervisorOnDroplet({ ...host, version, opId });
    } catch (err) {
      return { ...base, ...(await afterFailedUpgrade(desired, host, opId, err)) };
    }
    if (up.healthy) {
      state.desired = { ...desired, supervisorVersion: version, configHash: up.configHash };
      return {
        ...base,
        outcome: up.changed ? 'upgraded' : 'unchanged',
        message: up.changed ? `upgraded ${desired.supervisorVersion} → ${version}: ${up.message}` : `${version} was already running: ${up.message}`,
        downtimeSeconds: up.downtimeSeconds,
        notConnectedSeconds: up.notConnectedSeconds,
      };
    }
    setStep('rolling-back');
    const back = await acts.rollbackSupervisorOnDroplet({ ...host, version: desired.supervisorVersion, opId: `${opId}:rollback` });
    if (back.healthy) state.desired = { ...desired, configHash: back.configHash };
    return {
      ...base,
      outcome: back.healthy ? 'rolled-back' : 'failed',
      message: back.healthy
        ? `health gate failed (${up.message}); rolled back to ${desired.supervisorVersion}, which is connected again`
        : `health gate failed (${up.message}) and the rollback to ${desired.supervisorVersion} is not healthy either (${back.message}); heal will keep trying`,
      downtimeSeconds: up.downtimeSeconds,
      notConnectedSeconds: null,
    };
  };

  /**
   * An upgrade whose activity failed for good. The agent pulls before it touches the running container, so a tag the
   * registry refuses changed nothing. Anything else (a timeout, a lost droplet) may have left the run going or half
   * done: it is cancelled, and the old version is put back (a no-op when it is still there), so that what is recorded
   * is what the droplet runs.
   */
  const afterFailedUpgrade = async (
    desired: DesiredState,
    host: { installationId: string; ipv4: string; healthTimeoutSeconds: number },
    opId: string,
    err: unknown,
  ): Promise<Pick<UpgradeResult, 'outcome' | 'message'>> => {
    const cause = rootCauseMessage(err);
    const rejected = failureType(err) === ErrorType.Rejected;
    if (rejected || !patched('upgrade-cancels-what-it-started')) {
      return { outcome: 'rejected', message: `${cause}; nothing was changed, ${desired.supervisorVersion} keeps serving` };
    }
    setStep('cancelling');
    await acts.cancelDropletOperation({ installationId, ipv4: host.ipv4, opId }).catch(() => undefined);
    setStep('restoring');
    try {
      const back = await acts.rollbackSupervisorOnDroplet({ ...host, version: desired.supervisorVersion, opId: `${opId}:restore` });
      if (back.healthy) state.desired = { ...desired, configHash: back.configHash };
      return back.changed
        ? { outcome: back.healthy ? 'rolled-back' : 'failed', message: `${cause}; the partial upgrade was undone: back on ${desired.supervisorVersion} (${back.message})` }
        : { outcome: 'rejected', message: `${cause}; nothing was changed, ${desired.supervisorVersion} keeps serving` };
    } catch (restoreErr) {
      return { outcome: 'failed', message: `${cause}; restoring ${desired.supervisorVersion} failed too (${rootCauseMessage(restoreErr)}); heal will check the droplet` };
    }
  };

  const runMigrate = async (request: MigrateRequest): Promise<MigrateResult> => {
    const desired = state.desired;
    if (!desired) return { outcome: 'failed', message: 'nothing is deployed yet: run deploy first', from: null, to: null };
    const target = { size: request.size ?? desired.size, region: request.region ?? desired.region, image: request.image ?? desired.image };
    setStep('migrate');
    try {
      const moved = await executeChild(migrate, {
        workflowId: workflowIds.migrate(installationId),
        args: [
          {
            installationId,
            from: desired,
            target,
            generation: desired.generation + 1,
            healthTimeoutSeconds: state.settings.healthTimeoutSeconds,
            bootTimeoutSeconds: state.settings.bootTimeoutSeconds,
          },
        ],
      });
      state.desired = {
        ...desired,
        ...target,
        generation: desired.generation + 1,
        droplet: moved.droplet,
        configHash: moved.configHash,
        ...(moved.monthlyPriceUsd !== undefined ? { monthlyPriceUsd: moved.monthlyPriceUsd } : {}),
      };
      return {
        outcome: 'migrated',
        message: `moved from ${desired.droplet.name} to ${moved.droplet.name} (${target.size}, ${target.region}, ${target.image})`,
        from: { id: desired.droplet.id, name: desired.droplet.name },
        to: { ...moved.droplet, ...target },
      };
    } catch (err) {
      // The child's own failure says at which step it failed and what it undid; the root cause alone would not.
      let message = rootCauseMessage(err);
      for (let c: unknown = err; c instanceof Error; c = c.cause) {
        if (c instanceof ApplicationFailure) {
          message = c.message;
          break;
        }
      }
      return { outcome: 'failed', message, from: { id: desired.droplet.id, name: desired.droplet.name }, to: null };
    }
  };

  const look = async (desired: DesiredState): Promise<RepairDecision> => {
    const o = await acts.observeInstallation({
      installationId,
      dropletId: desired.droplet.id,
      supervisorVersion: desired.supervisorVersion,
      railway: desired.railway,
      apiUrl: desired.apiUrl,
    });
    state.observed = o;
    state.conditions = conditionsFrom(o, desired, state.settings.minFreeDiskPercent, state.conditions);
    return decideRepair(state.conditions);
  };

  const repair = async (desired: DesiredState, decision: RepairDecision): Promise<void> => {
    const host = { installationId, ipv4: desired.droplet.ipv4 };
    const healthy = () =>
      acts
        .waitForSupervisorHealthy({ ...host, supervisorVersion: desired.supervisorVersion, timeoutSeconds: state.settings.healthTimeoutSeconds })
        .catch(() => undefined);
    switch (decision.action) {
      case 'replace-droplet': {
        const moved = await runMigrate({ reason: decision.reason });
        if (moved.outcome !== 'migrated') throw new Rejected(moved.message);
        return;
      }
      case 'power-on':
      case 'power-cycle':
        await acts.powerDroplet({ dropletId: desired.droplet.id, action: decision.action === 'power-on' ? 'power_on' : 'power_cycle', timeoutSeconds: state.settings.bootTimeoutSeconds });
        await acts.waitForDropletActive({ dropletId: desired.droplet.id, timeoutSeconds: state.settings.bootTimeoutSeconds });
        await healthy();
        return;
      case 'start-docker':
        await acts.startDocker(host);
        await healthy();
        return;
      case 'prune':
        await acts.pruneDocker(host);
        return;
      case 'reapply-config': {
        const applied = await acts.applySupervisorConfig({
          ...host,
          dropletId: desired.droplet.id,
          ...desired.railway,
          supervisorVersion: desired.supervisorVersion,
          apiUrl: desired.apiUrl,
        });
        state.desired = { ...desired, configHash: applied.configHash };
        await healthy();
        return;
      }
      case 'restart-supervisor':
        await acts.restartSupervisor(host);
        await healthy();
        return;
      case 'none':
      case 'operator':
        return;
    }
  };

  const budget = (): RepairBudget => ({ repairTimes: state.repairTimes, consecutiveFailures: state.consecutiveFailures, backoffUntil: state.backoffUntil });
  const setBudget = (b: RepairBudget) => {
    state.repairTimes = [...b.repairTimes];
    state.consecutiveFailures = b.consecutiveFailures;
    state.backoffUntil = b.backoffUntil;
  };

  const runHeal = async (): Promise<{ outcome: OperationOutcome; message: string }> => {
    const desired = state.desired;
    if (!desired) return { outcome: 'skipped', message: 'nothing is deployed yet' };
    setStep('observe');
    const decision = await look(desired);
    const calls = state.observed?.calls;
    const verdict = decideHeal(state.conditions, budget(), state.settings, Date.now());
    if (verdict.kind === 'healthy') {
      setBudget(repairEnded(budget(), 'healthy', state.settings, Date.now()));
      event({ action: 'none', decision: 'observed-healthy', reason: verdict.reason, ...(calls ? { calls } : {}) });
      return { outcome: 'succeeded', message: 'healthy: nothing to repair' };
    }
    if (verdict.kind === 'operator') {
      event({ action: 'operator', decision: 'needs-operator', reason: verdict.reason });
      return { outcome: 'skipped', message: verdict.reason };
    }
    if (verdict.kind === 'held') {
      event({ action: verdict.action, decision: verdict.decision, reason: verdict.reason });
      return { outcome: 'skipped', message: verdict.reason };
    }
    setBudget(repairStarted(budget(), Date.now()));
    setStep(`repair:${decision.action}`);
    let failure: string | undefined;
    try {
      await repair(desired, decision);
    } catch (err) {
      failure = rootCauseMessage(err);
    }
    if (failure === undefined && state.desired) {
      setStep('verify');
      const after = await look(state.desired);
      if (after.action !== 'none') failure = `still unhealthy after ${decision.action}: ${after.reason}`;
    }
    setBudget(repairEnded(budget(), failure === undefined ? 'repaired' : 'failed', state.settings, Date.now()));
    if (failure === undefined) {
      event({ action: decision.action, decision: 'repaired', reason: decision.reason });
      return { outcome: 'succeeded', message: `repaired with ${decision.action}: ${decision.reason}` };
    }
    event({ action: decision.action, decision: 'repair-failed', reason: `${decision.reason}; ${failure}` });
    return { outcome: 'failed', message: `${decision.action} did not help: ${failure}` };
  };

  const runConfigure = async (patch: ConfigureRequest): Promise<LifecycleSettings> => {
    const next = lifecycleSettingsSchema.parse({ ...state.settings, ...patch });
    if (next.healIntervalSeconds !== state.settings.healIntervalSeconds && state.desired) {
      setStep('heal-schedule');
      await acts.ensureHealSchedule({ installationId, intervalSeconds: next.healIntervalSeconds });
    }
    state.settings = next;
    return next;
  };

  /** A deploy's result becomes the desired state; what was observed of the old one no longer applies. */
  const adoptDeployed = (d: DeployedSignal) => {
    const r = d.result;
    state.desired = {
      supervisorVersion: r.supervisorVersion,
      size: r.size,
      region: r.region,
      image: r.image,
      configHash: r.configHash,
      generation: d.generation,
      droplet: r.droplet,
      sshKeyId: r.sshKeyId,
      railway: r.railway,
      apiUrl: d.apiUrl,
      monthlyPriceUsd: r.monthlyPriceUsd,
    };
    state.conditions = [];
    state.observed = null;
  };

  const run = async (op: QueuedOperation): Promise<void> => {
    const startedAt = now();
    current = { ...op, startedAt, step: 'start' };
    try {
      switch (op.kind) {
        case 'adopt': {
          const d = op.args['deployed'] as DeployedSignal;
          const r = d.result;
          adoptDeployed(d);
          record(op, 'succeeded', `adopted deploy: ${r.droplet.name} running ${r.supervisorVersion}`, startedAt);
          results.set(op.id, state.desired);
          return;
        }
        case 'deploy': {
          deployReport = undefined;
          const reported = await condition(() => deployReport !== undefined || state.retiring, DEPLOY_HOLD_LIMIT);
          const report = deployReport as { deployed?: DeployedSignal; ended?: DeployEndedSignal } | undefined;
          deployReport = undefined;
          if (report?.deployed) {
            const r = report.deployed.result;
            adoptDeployed(report.deployed);
            record(op, 'succeeded', `deploy ${String(op.args['deployWorkflowId'])}: ${r.droplet.name} running ${r.supervisorVersion}`, startedAt);
          } else {
            const why = report?.ended?.message ?? (reported ? 'the installation is being torn down' : `no report within ${DEPLOY_HOLD_LIMIT}`);
            record(op, 'failed', `deploy ${String(op.args['deployWorkflowId'])} did not complete: ${why}`, startedAt);
          }
          return;
        }
        case 'upgrade': {
          const r = await runUpgrade(String(op.args['version']), `${workflowInfo().workflowId}:${op.id}`);
          const outcome: OperationOutcome = r.outcome === 'upgraded' ? 'succeeded' : r.outcome === 'unchanged' ? 'unchanged' : r.outcome === 'rolled-back' ? 'rolled-back' : 'failed';
          record(op, outcome, r.message, startedAt, { from: r.from, to: r.to, downtimeSeconds: r.downtimeSeconds, notConnectedSeconds: r.notConnectedSeconds });
          results.set(op.id, r);
          return;
        }
        case 'migrate': {
          const r = await runMigrate(op.args as MigrateRequest);
          record(op, r.outcome === 'migrated' ? 'succeeded' : 'failed', r.message, startedAt);
          results.set(op.id, r);
          return;
        }
        case 'heal': {
          const r = await runHeal();
          record(op, r.outcome, r.message, startedAt, { source: op.args['source'] });
          results.set(op.id, r);
          return;
        }
        case 'configure': {
          const r = await runConfigure(op.args as ConfigureRequest);
          record(op, 'succeeded', 'settings changed', startedAt, { ...op.args });
          results.set(op.id, r);
          return;
        }
        case 'retire':
          return;
      }
    } catch (err) {
      // Operations report their own failures; this catches the unexpected so that the entity itself never fails.
      const message = err instanceof Rejected ? err.message : rootCauseMessage(err);
      record(op, 'failed', message, startedAt);
      results.set(op.id, op.kind === 'upgrade'
        ? { outcome: 'failed', from: state.desired?.supervisorVersion ?? null, to: String(op.args['version']), message, downtimeSeconds: null, notConnectedSeconds: null }
        : { outcome: 'failed', message, from: null, to: null });
    } finally {
      current = null;
    }
  };

  const suggested = () => workflowInfo().continueAsNewSuggested;
  for (;;) {
    await condition(() => state.queue.length > 0 || state.retiring || (suggested() && allHandlersFinished()));
    if (state.retiring) break;
    if (suggested() && allHandlersFinished()) {
      log.info('continuing as new', { installationId, queued: state.queue.length, historyLength: workflowInfo().historyLength });
      await continueAsNew<typeof installation>({ installationId, settings: state.settings, carried: state });
    }
    const op = state.queue.shift();
    if (op) await run(op);
  }

  for (const op of state.queue.splice(0)) {
    record(op, 'cancelled', 'the installation was torn down', null);
    results.set(op.id, op.kind === 'upgrade'
      ? { outcome: 'cancelled', from: null, to: String(op.args['version']), message: 'the installation was torn down', downtimeSeconds: null, notConnectedSeconds: null }
      : { outcome: 'cancelled', message: 'the installation was torn down', from: null, to: null });
  }
  await condition(allHandlersFinished);
  return { retired: true, installationId };
}
