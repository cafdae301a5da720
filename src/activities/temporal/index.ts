import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import { ErrorType } from '../../shared/errors';
import { BOUNDS } from '../../shared/activity-contract';
import { pause, progress } from '../heartbeat';
import { workflowIds } from '../../shared/ids';
import {
  beginDeployUpdate,
  deployedSignal,
  deployEndedSignal,
  retireSignal,
  statusQuery,
  tornDownSignal,
  WORKFLOW_TYPES,
  type DeployedSignal,
} from '../../shared/installation-messages';
import type { InstallationInput } from '../../shared/installation-state';
import type { HealWorkflowInput, LifecycleSettingsInput } from '../../shared/lifecycle';

export interface TemporalStepDeps {
  /** A client of the Temporal service this worker polls; undefined when the composition root gave none. */
  readonly temporalClient: (() => Promise<Client>) | undefined;
  readonly pollIntervalMs: number;
}

/**
 * A deploy that holds a retiring installation but whose workflow no longer runs (terminated, or failed before it
 * could report) never reports back: its hold is released on its behalf, so the teardown does not wait for it.
 */
async function releaseOrphanedHold(c: Client, installationId: string, deployWorkflowId: string): Promise<void> {
  try {
    if ((await c.workflow.getHandle(deployWorkflowId).describe()).status.name === 'RUNNING') return;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  await c.workflow.getHandle(workflowIds.installation(installationId)).signal(deployEndedSignal, {
    deployWorkflowId,
    message: `deploy workflow ${deployWorkflowId} is no longer running`,
  });
}

/**
 * The heal schedule's spec: every `intervalSeconds`, at an offset within the interval that the installation id fixes,
 * so 1,000 installations' checks spread over the minute instead of all starting at its first second.
 */
export function healScheduleSpec(installationId: string, intervalSeconds: number): { readonly offsetMs: number; readonly spec: ScheduleSpec } {
  let h = 0;
  for (const ch of installationId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const offsetSeconds = h % intervalSeconds;
  return { offsetMs: offsetSeconds * 1000, spec: { intervals: [{ every: `${intervalSeconds}s`, offset: `${offsetSeconds}s` }] } };
}

/** Everything the heal schedule `heal:<id>` is created with (deploy's hand-over; the scale bench seeds the same). */
export function healScheduleOptions(installationId: string, intervalSeconds: number, taskQueue: string): ScheduleOptions {
  const scheduleId = workflowIds.healSchedule(installationId);
  const args: [HealWorkflowInput] = [{ installationId }];
  return {
    scheduleId,
    spec: healScheduleSpec(installationId, intervalSeconds).spec,
    action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPES.heal, taskQueue, args, workflowId: scheduleId },
    // A heal that is still running when the next one is due is enough; missed runs older than one interval are
    // pointless (the next run observes the present).
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${Math.max(intervalSeconds, 10)}s`, pauseOnFailure: false },
    state: { note: `heal for installation ${installationId}, created by deploy` },
  };
}

/** Steps that talk to Temporal itself: the hand-over from deploy, the heal schedule, retiring the installation. */
export function createTemporalActivities(deps: TemporalStepDeps) {
  const client = async (): Promise<Client> => {
    if (!deps.temporalClient) {
      throw ApplicationFailure.nonRetryable('this worker has no Temporal client for schedules and hand-over', ErrorType.ConfigError);
    }
    return deps.temporalClient();
  };

  const ensureSchedule = async (c: Client, installationId: string, intervalSeconds: number, taskQueue: string) => {
    const scheduleId = workflowIds.healSchedule(installationId);
    const handle = c.schedule.getHandle(scheduleId);
    const wanted = healScheduleSpec(installationId, intervalSeconds);
    try {
      const current = await handle.describe();
      const interval = current.spec.intervals?.[0];
      if (interval?.every !== intervalSeconds * 1000 || (interval.offset ?? 0) !== wanted.offsetMs) {
        await handle.update((prev) => ({ ...prev, spec: wanted.spec }));
      }
      return { scheduleId, created: false };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    try {
      await c.schedule.create(healScheduleOptions(installationId, intervalSeconds, taskQueue));
    } catch (err) {
      // A concurrent attempt created it first: that is the same schedule.
      if (!(err instanceof Error && err.name === 'ScheduleAlreadyRunning')) throw err;
    }
    return { scheduleId, created: true };
  };

  return {
    /**
     * End of deploy: the installation workflow exists (started, or signalled when already running) and holds the
     * deploy's result as its desired state, and the heal schedule exists.
     */
    async handOverInstallation(input: { deployed: DeployedSignal; settings?: LifecycleSettingsInput }) {
      const c = await client();
      const installationId = input.deployed.result.installationId;
      const taskQueue = activityInfo().taskQueue;
      const args: [InstallationInput] = [{ installationId, ...(input.settings ? { settings: input.settings } : {}) }];
      // The schedule first: once the installation has the result, a teardown waiting for this deploy goes on and
      // deletes the schedule, which must not be created after that.
      const schedule = await ensureSchedule(c, installationId, input.settings?.healIntervalSeconds ?? 60, taskQueue);
      const handle = await c.workflow.signalWithStart(WORKFLOW_TYPES.installation, {
        workflowId: workflowIds.installation(installationId),
        taskQueue,
        args,
        signal: deployedSignal,
        signalArgs: [input.deployed],
      });
      return { installationWorkflowId: handle.workflowId, scheduleId: schedule.scheduleId };
    },

    /**
     * Start of deploy: its turn on the installation (started here for a first deploy), once every earlier operation
     * is done, so a deploy never interleaves with an upgrade, migrate, repair or teardown. A retiring installation
     * refuses it for good: the deploy was superseded by a teardown and must create nothing.
     */
    async acquireInstallation(input: { installationId: string; deployWorkflowId: string; settings?: LifecycleSettingsInput }) {
      const c = await client();
      const args: [InstallationInput] = [{ installationId: input.installationId, ...(input.settings ? { settings: input.settings } : {}) }];
      progress({ waiting: 'for the installation to finish its current operation' });
      const turn = c.workflow.executeUpdateWithStart(beginDeployUpdate, {
        args: [{ deployWorkflowId: input.deployWorkflowId }],
        // Same id on a retry: Temporal returns the same update rather than queueing a second hold.
        updateId: `begin-deploy:${input.deployWorkflowId}:${activityInfo().workflowExecution?.runId ?? ''}`,
        startWorkflowOperation: new WithStartWorkflowOperation(WORKFLOW_TYPES.installation, {
          workflowId: workflowIds.installation(input.installationId),
          taskQueue: activityInfo().taskQueue,
          args,
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(ApplicationFailure.nonRetryable(`the installation did not finish its current operation within ${BOUNDS.installationTurnMs / 1000}s`, ErrorType.Unavailable)),
          BOUNDS.installationTurnMs,
        );
      });
      try {
        await Promise.race([turn, limit]);
      } catch (err) {
        const refusal = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        if (refusal instanceof ApplicationFailure && refusal.type === ErrorType.Retiring) {
          throw ApplicationFailure.nonRetryable(`deploy ${input.deployWorkflowId}: ${refusal.message}`, ErrorType.Retiring);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
      return { held: true };
    },

    /** A deploy that held the installation failed: let the installation go on. */
    async releaseInstallation(input: { installationId: string; deployWorkflowId: string; message: string }) {
      const c = await client();
      try {
        await c.workflow.getHandle(workflowIds.installation(input.installationId)).signal(deployEndedSignal, {
          deployWorkflowId: input.deployWorkflowId,
          message: input.message,
        });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      return { released: true };
    },

    /** Creates the heal schedule, or changes its interval. */
    async ensureHealSchedule(input: { installationId: string; intervalSeconds: number }) {
      return ensureSchedule(await client(), input.installationId, input.intervalSeconds, activityInfo().taskQueue);
    },

    /**
     * Teardown's first step: the heal schedule goes, and the installation retires (started retired when there is
     * none, so a deploy sent during the teardown is refused either way). It waits until the current operation is
     * done, a deploy's included; a hold whose deploy workflow no longer runs is released. Idempotent.
     */
    async retireInstallation(input: { installationId: string; timeoutSeconds: number }) {
      const c = await client();
      const deleteSchedule = async () => {
        try {
          await c.schedule.getHandle(workflowIds.healSchedule(input.installationId)).delete();
          return true;
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) return false;
          throw err;
        }
      };
      let scheduleDeleted = await deleteSchedule();
      const args: [InstallationInput] = [{ installationId: input.installationId }];
      const handle = await c.workflow.signalWithStart(WORKFLOW_TYPES.installation, {
        workflowId: workflowIds.installation(input.installationId),
        taskQueue: activityInfo().taskQueue,
        args,
        signal: retireSignal,
        signalArgs: [],
      });
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      for (;;) {
        const s = await handle.query(statusQuery);
        if (s.retiring && s.current === null) break;
        if (s.current?.kind === 'deploy') await releaseOrphanedHold(c, input.installationId, s.current.deployWorkflowId);
        if (Date.now() > deadline) {
          throw ApplicationFailure.retryable(`installation still busy with ${s.current?.kind ?? 'its queue'} after ${input.timeoutSeconds}s`, ErrorType.Unavailable);
        }
        progress({ waiting: `installation to finish its current operation (${s.current?.kind ?? 'queue'})` });
        await pause(Math.max(100, deps.pollIntervalMs));
      }
      // A deploy that just finished may have created the schedule again before it handed over.
      scheduleDeleted = (await deleteSchedule()) || scheduleDeleted;
      return { scheduleDeleted, retired: true };
    },

    /** Teardown's last step: the retired installation ends; a deploy after this starts a fresh one. Idempotent. */
    async endInstallation(input: { installationId: string }) {
      const c = await client();
      const handle = c.workflow.getHandle(workflowIds.installation(input.installationId));
      try {
        if ((await handle.describe()).status.name !== 'RUNNING') return { ended: false };
        await handle.signal(tornDownSignal);
        while ((await handle.describe()).status.name === 'RUNNING') {
          progress({ waiting: 'installation to end' });
          await pause(Math.max(100, Math.min(deps.pollIntervalMs, 1000)));
        }
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { ended: false };
        throw err;
      }
      return { ended: true };
    },
  };
}
