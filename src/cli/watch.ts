import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { workflowIds } from '../shared/ids';
import { statusQuery } from '../shared/installation-messages';
import { withClient } from './context';
import { sendUntilAccepted } from './request';

export interface StepProgress {
  readonly step: string;
  readonly completed?: readonly string[];
}

type Followed<R> = { readonly detached: true } | { readonly detached: false; readonly result: R };

/** Calls `look` every `pollMs` until `result` settles, or until Ctrl-C detaches (the work goes on). */
async function follow<R>(result: Promise<R>, look: () => Promise<void>, pollMs: number): Promise<Followed<R>> {
  let detached = false;
  const onSigint = () => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  let settled = false;
  result.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    while (!settled && !detached) {
      await look();
      await Promise.race([result.catch(() => undefined), sleep(pollMs)]);
    }
    return detached ? { detached: true } : { detached: false, result: await result };
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/**
 * Follows a running workflow through its progress query, printing each step as it starts and ends, until the
 * result arrives. Ctrl-C detaches (the workflow keeps running) and says how to cancel.
 */
export async function followWorkflow<R>(
  handle: WorkflowHandle,
  progress: QueryDefinition<StepProgress, []>,
  options: { readonly print: (line: string) => void; readonly cancelHint: string; readonly pollMs?: number },
): Promise<Followed<R>> {
  let lastStep = '';
  let printedCompleted = 0;
  const printCompleted = (completed: readonly string[]) => {
    for (const name of completed.slice(printedCompleted)) options.print(`  ✓ ${name}`);
    printedCompleted = Math.max(printedCompleted, completed.length);
  };
  const outcome = await follow(
    handle.result() as Promise<R>,
    async () => {
      const p = await handle.query(progress).catch(() => undefined);
      if (!p) return;
      const completed = p.completed ?? [];
      printCompleted(completed);
      if (p.step !== lastStep && !completed.includes(p.step) && p.step !== 'done') options.print(`  … ${p.step}`);
      lastStep = p.step;
    },
    options.pollMs ?? 500,
  );
  if (outcome.detached) {
    options.print(`Detached: the workflow ${handle.workflowId} keeps running. ${options.cancelHint}`);
    return outcome;
  }
  printCompleted((await handle.query(progress).catch(() => undefined))?.completed ?? []);
  return outcome;
}

/**
 * Waits for an installation operation (an update's result), printing the installation's current step as it changes
 * (from its `status` query). Ctrl-C detaches: the operation goes on inside the installation workflow.
 */
export async function followOperation<R>(
  handle: WorkflowHandle,
  status: QueryDefinition<{ readonly current: { readonly kind: string; readonly step: string } | null }, []>,
  result: Promise<R>,
  options: { readonly print: (line: string) => void; readonly detachHint: string; readonly pollMs?: number },
): Promise<Followed<R>> {
  let last = '';
  const outcome = await follow(
    result,
    async () => {
      const s = await handle.query(status).catch(() => undefined);
      const now = s?.current ? `${s.current.kind}: ${s.current.step}` : '';
      if (now && now !== last) options.print(`  … ${now}`);
      last = now || last;
    },
    options.pollMs ?? 500,
  );
  if (outcome.detached) options.print(`Detached: the operation keeps running in ${handle.workflowId}. ${options.detachHint}`);
  return outcome;
}

/**
 * Sends an update to the installation until a worker accepts it (sendUntilAccepted), then follows it to its result
 * (undefined when Ctrl-C detached): what `upgrade` and `migrate` do. Progress goes to stderr, so --json's stdout
 * holds the result alone.
 */
export async function runInstallationUpdate<R, A>(
  installationId: string,
  update: UpdateDefinition<R, [A]>,
  arg: A,
  request: { readonly kind: string; readonly acceptTimeoutSeconds: number },
): Promise<R | undefined> {
  const print = (line: string) => process.stderr.write(`${line}\n`);
  return withClient(async (client) => {
    const handle = client.workflow.getHandle(workflowIds.installation(installationId));
    const accepted = await sendUntilAccepted(client, handle, update, arg, { ...request, print });
    const outcome = await followOperation(handle, statusQuery, accepted.result(), {
      print,
      detachHint: `Follow it with: trigger-ops status -i ${installationId}`,
    });
    return outcome.detached ? undefined : outcome.result;
  }, installationId);
}
