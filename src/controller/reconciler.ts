import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { failureMessage } from '../cli/context';
import type { DeployInput, DeployResult } from '../shared/deploy';
import { ErrorType } from '../shared/errors';
import { workflowIds } from '../shared/ids';
import { migrateUpdate, statusQuery, upgradeSupervisorUpdate } from '../shared/installation-messages';
import type { InstallationStatus, MigrateRequest, MigrateResult, UpgradeResult } from '../shared/lifecycle';
import type { DeployPlan } from '../shared/plan';
import { deploy, deployPlan, deployProgressQuery } from '../workflows';
import type { ControllerDesired } from './desired-state';

/** Where the reconciler is; the status page and `/status` show it beside the installation's own status. */
export interface ReconcileState {
  readonly phase: 'starting' | 'checking' | 'deploying' | 'waiting' | 'upgrading' | 'migrating' | 'in-sync' | 'retrying' | 'blocked';
  readonly message: string;
  /** Set when a person must act (a refused token, a bad desired state, a release that does not exist). */
  readonly problem: string | null;
  readonly since: string;
  /** Failed attempts in a row; the next one waits longer. */
  readonly failures: number;
  readonly nextAttemptAt: string | null;
}

export interface ReconcilerOptions {
  readonly client: Client;
  readonly taskQueue: string;
  /** The desired state, or why the environment does not give one (shown, never retried: it needs a restart). */
  readonly desired: { desired: ControllerDesired } | { problem: string };
  readonly railway: { readonly projectId: string | undefined; readonly environmentId: string | undefined };
  readonly log: (message: string) => void;
  /** How often waits look again (the entity's queue, a running deploy). */
  readonly pollMs?: number;
  /** First retry delay; doubles per failure up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface Reconciler {
  state(): ReconcileState;
  /** Resolves when the installation matches the desired state, or the reconciler is blocked or stopped. */
  readonly settled: Promise<ReconcileState>;
  /** Stops between steps; a workflow it started keeps running on the server (the next boot waits for it). */
  stop(): Promise<void>;
}

/** Failure types of a plan that a retry cannot fix (src/shared/errors.ts). */
const NEEDS_A_PERSON = new Set<string>([ErrorType.InvalidInput, ErrorType.ConfigError, ErrorType.AuthError, ErrorType.Rejected, ErrorType.NotFound, ErrorType.NotOwned]);

function rootFailureType(err: unknown): string | undefined {
  let type: string | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type) type = e.type;
  }
  return type;
}

/** A failure no retry can fix: the environment must change (and Railway restarts the controller when it does). */
class Blocked extends Error {}

/**
 * Makes the installation match the controller's environment, once per boot: a first deploy when nothing is deployed
 * (after a read-only plan that checks tokens, region, size and version), then upgrade and migrate requests for what
 * differs. Every step is idempotent across restarts: the deploy has one workflow id (a running one is joined, never
 * doubled), the entity's queue is waited out before anything is asked, and each request carries an update id derived
 * from what it changes, so a boot that repeats it gets the same request back. Failures back off exponentially.
 */
export function startReconciler(options: ReconcilerOptions): Reconciler {
  const pollMs = options.pollMs ?? 2000;
  const backoffMs = options.backoffMs ?? 15_000;
  const maxBackoffMs = options.maxBackoffMs ?? 15 * 60_000;
  const { client, log } = options;
  let current: ReconcileState = { phase: 'starting', message: 'starting', problem: null, since: new Date().toISOString(), failures: 0, nextAttemptAt: null };
  const set = (phase: ReconcileState['phase'], message: string, extra: Partial<ReconcileState> = {}) => {
    if (current.phase !== phase || current.message !== message) log(`reconcile: ${message}${extra.problem ? `: ${extra.problem}` : ''}`);
    current = { ...current, phase, message, problem: null, since: new Date().toISOString(), nextAttemptAt: null, ...extra };
  };
  const abort = new AbortController();
  const stopped = () => abort.signal.aborted;
  const wait = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  const readStatus = async (installationId: string): Promise<InstallationStatus | undefined> => {
    const handle = client.workflow.getHandle(workflowIds.installation(installationId));
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return undefined;
      return await handle.query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };

  const firstDeploy = async (desired: ControllerDesired): Promise<void> => {
    const id = desired.installationId;
    const input: DeployInput = {
      installationId: id,
      railway: {
        ...(options.railway.projectId !== undefined && { projectId: options.railway.projectId }),
        ...(options.railway.environmentId !== undefined && { environmentId: options.railway.environmentId }),
      },
      ...(desired.region !== undefined && { region: desired.region }),
      ...(desired.size !== undefined && { size: desired.size }),
      ...(desired.supervisorVersion !== undefined && { supervisorVersion: desired.supervisorVersion }),
    };
    const existing = client.workflow.getHandle(workflowIds.deploy(id));
    const running = await existing.describe().then((d) => d.status.name === 'RUNNING', () => false);
    if (running) {
      set('deploying', `a deploy of "${id}" is running (started before this boot): waiting for it`);
    } else {
      set('checking', `checking tokens, region, size and version for a first deploy of "${id}" (read-only plan)`);
      const plan = await client.workflow.execute(deployPlan, {
        taskQueue: options.taskQueue,
        workflowId: workflowIds.plan(id),
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [input],
      }).catch((err: unknown) => {
        if (!(err instanceof WorkflowFailedError)) throw err;
        // A refused token, an unknown region or size, a version the webapp cannot run: nothing was created, and
        // only a change of the environment (which restarts the controller) can fix it.
        const reason = `the deploy plan failed: ${failureMessage(err)}`;
        throw NEEDS_A_PERSON.has(rootFailureType(err) ?? '') ? new Blocked(reason) : new Error(reason);
      });
      set('deploying', `deploying "${id}": ${describePlan(plan)}`);
    }
    const handle = running
      ? existing
      : await client.workflow.start(deploy, {
          taskQueue: options.taskQueue,
          workflowId: workflowIds.deploy(id),
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [input],
        });
    const result = handle.result() as Promise<DeployResult>;
    let step = '';
    let reported = 0;
    const look = async () => {
      const progress = await handle.query(deployProgressQuery).catch(() => undefined);
      if (!progress) return;
      // Every finished step once, even those that began and ended between two looks.
      for (const name of progress.completed.slice(reported)) log(`reconcile: deploying "${id}": ✓ ${name}`);
      reported = Math.max(reported, progress.completed.length);
      if (progress.step !== step && progress.step !== 'done') {
        step = progress.step;
        set('deploying', `deploying "${id}": step ${step}`);
      }
    };
    for (;;) {
      const done = await Promise.race([result.then(() => true, () => true), wait(pollMs).then(() => false)]);
      if (stopped()) break;
      await look();
      if (done) break;
    }
    if (stopped()) return;
    try {
      const r = await result;
      log(`reconcile: deployed "${id}": droplet ${r.droplet.name} (${r.droplet.ipv4}), supervisor ${r.supervisorVersion}`);
    } catch (err) {
      throw new Error(`the deploy failed: ${err instanceof WorkflowFailedError ? failureMessage(err) : String(err)}`);
    }
  };

  const request = async <R>(
    installationId: string,
    update: typeof upgradeSupervisorUpdate | typeof migrateUpdate,
    arg: unknown,
    updateId: string,
  ): Promise<R> => {
    const handle = client.workflow.getHandle(workflowIds.installation(installationId));
    try {
      return (await handle.executeUpdate(update as never, { args: [arg] as never, updateId })) as R;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        throw new Blocked(`the installation refused the ${update.name} request: ${err.cause.message}`);
      }
      throw err;
    }
  };

  const once = async (desired: ControllerDesired): Promise<'in-sync' | 'stopped'> => {
    const id = desired.installationId;
    for (;;) {
      if (stopped()) return 'stopped';
      const status = await readStatus(id);
      if (!status?.desired) {
        if (status?.current) {
          set('waiting', `"${id}" is busy (${status.current.kind}, step ${status.current.step}): waiting for it`);
          await wait(pollMs);
          continue;
        }
        await firstDeploy(desired);
        continue;
      }
      if (status.current || status.queue.length > 0) {
        const busy = status.current ? `${status.current.kind}, step ${status.current.step}` : status.queue.map((q) => q.kind).join(', ');
        set('waiting', `"${id}" is busy (${busy}): waiting for it before comparing the desired state`);
        await wait(pollMs);
        continue;
      }
      const d = status.desired;
      if (desired.supervisorVersion !== undefined && desired.supervisorVersion !== d.supervisorVersion) {
        set('upgrading', `upgrading "${id}": supervisor ${d.supervisorVersion} → ${desired.supervisorVersion}`);
        const r = await request<UpgradeResult>(id, upgradeSupervisorUpdate, { version: desired.supervisorVersion },
          `reconcile:upgrade:${d.supervisorVersion}->${desired.supervisorVersion}:g${d.generation}`);
        if (r.outcome === 'rejected' || r.outcome === 'rolled-back') throw new Blocked(`upgrade to ${desired.supervisorVersion} ${r.outcome}: ${r.message}`);
        if (r.outcome !== 'upgraded' && r.outcome !== 'unchanged') throw new Error(`upgrade to ${desired.supervisorVersion} ${r.outcome}: ${r.message}`);
        continue;
      }
      const move: MigrateRequest = {
        ...(desired.size !== undefined && desired.size !== d.size && { size: desired.size }),
        ...(desired.region !== undefined && desired.region !== d.region && { region: desired.region }),
      };
      if (move.size !== undefined || move.region !== undefined) {
        set('migrating', `migrating "${id}" (blue-green): ${d.size} in ${d.region} → ${move.size ?? d.size} in ${move.region ?? d.region}`);
        const r = await request<MigrateResult>(id, migrateUpdate, { ...move, reason: 'the controller\'s desired state changed' },
          `reconcile:migrate:${d.size}@${d.region}->${move.size ?? d.size}@${move.region ?? d.region}:g${d.generation}`);
        if (r.outcome !== 'migrated') throw new Error(`migrate ${r.outcome}: ${r.message}`);
        continue;
      }
      set('in-sync', `"${id}" matches the desired state: ${d.droplet.name}, supervisor ${d.supervisorVersion}, ${d.size} in ${d.region}`);
      return 'in-sync';
    }
  };

  const run = async (): Promise<ReconcileState> => {
    if ('problem' in options.desired) {
      set('blocked', 'the desired state in the environment is not valid', { problem: options.desired.problem });
      return current;
    }
    const desired = options.desired.desired;
    for (let failures = 0; ; failures++) {
      try {
        if ((await once(desired)) === 'stopped') return current;
        current = { ...current, failures: 0 };
        return current;
      } catch (err) {
        if (stopped()) return current;
        const reason = err instanceof Error ? err.message : String(err);
        if (err instanceof Blocked) {
          set('blocked', 'needs a person (fix it, and the restart that follows a variable change tries again)', { problem: reason, failures: failures + 1 });
          return current;
        }
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** failures);
        set('retrying', `attempt ${failures + 1} failed; next in ${Math.round(delay / 1000)}s`, {
          problem: reason,
          failures: failures + 1,
          nextAttemptAt: new Date(Date.now() + delay).toISOString(),
        });
        await wait(delay);
      }
    }
  };

  const settled = run();
  return {
    state: () => current,
    settled,
    async stop() {
      abort.abort();
      await settled.catch(() => undefined);
    },
  };
}

function describePlan(plan: DeployPlan): string {
  const creates = plan.items.filter((i) => i.action === 'create').length;
  return `supervisor ${plan.supervisorVersion}, ${creates} resource(s) to create, $${plan.monthlyPriceUsd.toFixed(2)}/month`;
}
