import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';

export interface StepProgress {
  readonly step: string;
  readonly completed?: readonly string[];
}

/**
 * Follows a running workflow through its progress query, printing each step as it starts and ends, until the
 * result arrives. Ctrl-C detaches (the workflow keeps running) and says how to cancel.
 */
export async function followWorkflow<R>(
  handle: WorkflowHandle,
  progress: QueryDefinition<StepProgress, []>,
  options: { readonly print: (line: string) => void; readonly cancelHint: string; readonly pollMs?: number },
): Promise<{ readonly detached: true } | { readonly detached: false; readonly result: R }> {
  let detached = false;
  const onSigint = () => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  const result = handle.result() as Promise<R>;
  let settled = false;
  result.then(
    () => (settled = true),
    () => (settled = true),
  );
  let lastStep = '';
  let printedCompleted = 0;
  try {
    while (!settled && !detached) {
      const p = await handle.query(progress).catch(() => undefined);
      if (p) {
        const completed = p.completed ?? [];
        for (const name of completed.slice(printedCompleted)) options.print(`  ✓ ${name}`);
        printedCompleted = completed.length;
        if (p.step !== lastStep && !completed.includes(p.step) && p.step !== 'done') options.print(`  … ${p.step}`);
        lastStep = p.step;
      }
      await Promise.race([result.catch(() => undefined), sleep(options.pollMs ?? 500)]);
    }
    if (detached) {
      options.print(`Detached: the workflow ${handle.workflowId} keeps running. ${options.cancelHint}`);
      return { detached: true };
    }
    const final = await handle.query(progress).catch(() => undefined);
    for (const name of (final?.completed ?? []).slice(printedCompleted)) options.print(`  ✓ ${name}`);
    return { detached: false, result: await result };
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
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
): Promise<{ readonly detached: true } | { readonly detached: false; readonly result: R }> {
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
  let last = '';
  try {
    while (!settled && !detached) {
      const s = await handle.query(status).catch(() => undefined);
      const now = s?.current ? `${s.current.kind}: ${s.current.step}` : '';
      if (now && now !== last) options.print(`  … ${now}`);
      last = now || last;
      await Promise.race([result.catch(() => undefined), sleep(options.pollMs ?? 500)]);
    }
    if (detached) {
      options.print(`Detached: the operation keeps running in ${handle.workflowId}. ${options.detachHint}`);
      return { detached: true };
    }
    return { detached: false, result: await result };
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
