import { setTimeout as sleep } from 'node:timers/promises';
import { workflowIds } from '../../src/shared/ids';
import type { HealEvent, InstallationStatus, LifecycleSettingsInput } from '../../src/shared/lifecycle';
import { deploy } from '../../src/workflows';
import { configureUpdate, healSignal, statusQuery } from '../../src/shared/installation-messages';
import type { World } from './installation';
import { waitFor } from './wait';

/** Deploys an installation on the world's sandbox (short timeouts) and waits for the installation workflow to adopt it. */
export async function deployAndAdopt(world: World, installationId: string, settings: LifecycleSettingsInput = {}) {
  const result = await world.temporal.client.workflow.execute(deploy, {
    taskQueue: world.temporal.taskQueue,
    workflowId: workflowIds.deploy(installationId),
    args: [{ installationId, options: { healthTimeoutSeconds: 30, bootTimeoutSeconds: 30 } }],
  }).catch((err: unknown) => {
    throw new Error(`deploy failed: ${causeChain(err)}`);
  });
  const handle = installationHandle(world, installationId);
  await waitFor('the installation to adopt the deploy', async () => ((await status(world, installationId)).desired ? true : undefined), 15_000);
  // Quiet by default: tests ask for heal checks explicitly (the schedule exists, paused).
  await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(installationId)).pause('tests drive heal explicitly');
  await handle.executeUpdate(configureUpdate, { args: [{ healthTimeoutSeconds: 15, bootTimeoutSeconds: 30, repairBackoffSeconds: 0, ...settings }] });
  return { result, handle };
}

export function installationHandle(world: World, installationId: string) {
  return world.temporal.client.workflow.getHandle(workflowIds.installation(installationId));
}

export function status(world: World, installationId: string): Promise<InstallationStatus> {
  return installationHandle(world, installationId).query(statusQuery);
}

/** Sends `heal` and waits until the check it queued has finished; returns the heal events it added. */
export async function healNow(world: World, installationId: string, timeoutMs = 30_000): Promise<HealEvent[]> {
  const before = (await status(world, installationId)).recent.filter((r) => r.kind === 'heal').length;
  const eventsBefore = (await status(world, installationId)).healEvents.length;
  await installationHandle(world, installationId).signal(healSignal, { source: 'test' });
  const s = await waitFor(
    'the heal check to finish',
    async () => {
      const st = await status(world, installationId);
      const heals = st.recent.filter((r) => r.kind === 'heal' && r.outcome !== 'superseded');
      return heals.length > before && !st.current && st.queue.length === 0 ? st : undefined;
    },
    timeoutMs,
    100,
  );
  return s.healEvents.slice(0, Math.max(0, Math.min(s.healEvents.length, s.healEvents.length - eventsBefore + 0)) || 1);
}

/** Polls the status until `predicate` holds. */
export async function waitForStatus(world: World, installationId: string, what: string, predicate: (s: InstallationStatus) => boolean, timeoutMs = 30_000) {
  return waitFor(what, async () => {
    const s = await status(world, installationId);
    return predicate(s) ? s : undefined;
  }, timeoutMs, 100);
}

export async function settle(ms: number): Promise<void> {
  await sleep(ms);
}

/** Every message of a failure chain, outermost first: what a failed workflow actually said. */
export function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = err; c instanceof Error; c = c.cause) parts.push(c.message);
  return parts.join(' <- ');
}
