import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ErrorType } from '../../shared/errors';
import { BOUNDS } from '../contract';
import { pause, progress } from '../heartbeat';
import { workflowIds } from '../../shared/ids';
import { beginDeployUpdate, deployedSignal, deployEndedSignal, retireSignal, WORKFLOW_TYPES, type DeployedSignal } from '../../shared/installation-messages';
import type { InstallationInput } from '../../shared/installation-state';
import type { HealWorkflowInput, LifecycleSettingsInput } from '../../shared/lifecycle';

export interface TemporalStepDeps {
  /** A client of the Temporal service this worker polls; undefined when the composition root gave none. */
  readonly temporalClient: (() => Promise<Client>) | undefined;
  readonly pollIntervalMs: number;
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
    const args: [HealWorkflowInput] = [{ installationId }];
    try {
      const current = await handle.describe();
      const every = current.spec.intervals?.[0]?.every;
      if (every !== intervalSeconds * 1000) {
        await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every: `${intervalSeconds}s` }] } }));
      }
      return { scheduleId, created: false };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    try {
      await c.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: `${intervalSeconds}s` }] },
        action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPES.heal, taskQueue, args, workflowId: scheduleId },
        // A heal that is still running when the next one is due is enough; missed runs older than one interval are
        // pointless (the next run observes the present).
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${Math.max(intervalSeconds, 10)}s`, pauseOnFailure: false },
        state: { note: `heal for installation ${installationId}, created by deploy` },
      });
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
      const handle = await c.workflow.signalWithStart(WORKFLOW_TYPES.installation, {
        workflowId: workflowIds.installation(installationId),
        taskQueue,
        args,
        signal: deployedSignal,
        signalArgs: [input.deployed],
      });
      const schedule = await ensureSchedule(c, installationId, input.settings?.healIntervalSeconds ?? 60, taskQueue);
      return { installationWorkflowId: handle.workflowId, scheduleId: schedule.scheduleId };
    },

    /**
     * Start of deploy: when the installation already exists, wait for its turn (every earlier operation done), so a
     * deploy never interleaves with an upgrade, migrate or repair. Nothing to wait for on a first deploy.
     */
    async acquireInstallation(input: { installationId: string; deployWorkflowId: string }) {
      const c = await client();
      const handle = c.workflow.getHandle(workflowIds.installation(input.installationId));
      try {
        if ((await handle.describe()).status.name !== 'RUNNING') return { held: false };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { held: false };
        throw err;
      }
      progress({ waiting: 'for the installation to finish its current operation' });
      const turn = handle.executeUpdate(beginDeployUpdate, {
        args: [{ deployWorkflowId: input.deployWorkflowId }],
        // Same id on a retry: Temporal returns the same update rather than queueing a second hold.
        updateId: `begin-deploy:${input.deployWorkflowId}:${activityInfo().workflowExecution?.runId ?? ''}`,
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
     * Teardown's first step: the heal schedule goes, the installation workflow finishes its current operation and
     * ends (queued ones are cancelled). Idempotent: nothing there is fine.
     */
    async retireInstallation(input: { installationId: string; timeoutSeconds: number }) {
      const c = await client();
      let scheduleDeleted = false;
      try {
        await c.schedule.getHandle(workflowIds.healSchedule(input.installationId)).delete();
        scheduleDeleted = true;
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
      const handle = c.workflow.getHandle(workflowIds.installation(input.installationId));
      let retired = false;
      try {
        const description = await handle.describe();
        if (description.status.name === 'RUNNING') {
          await handle.signal(retireSignal);
          const deadline = Date.now() + input.timeoutSeconds * 1000;
          for (;;) {
            const d = await handle.describe();
            if (d.status.name !== 'RUNNING') break;
            if (Date.now() > deadline) {
              throw ApplicationFailure.retryable(`installation workflow still running after ${input.timeoutSeconds}s`, ErrorType.Unavailable);
            }
            progress({ waiting: 'installation to finish its current operation' });
            await pause(Math.max(100, deps.pollIntervalMs));
          }
          retired = true;
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      return { scheduleDeleted, retired };
    },
  };
}
