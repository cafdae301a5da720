import { Context } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTRACT, HEARTBEAT_EVERY_MS, type ActivityName } from '../shared/activity-contract';

/** The latest progress each running activity reported: what its timer heartbeats repeat. */
const latest = new WeakMap<Context, unknown>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    // Called outside an activity (a unit test of a step): nothing to report to.
    return undefined;
  }
}

/** Reports progress: heartbeats now with these details, and the timer repeats them until the next report. */
export function progress(details: unknown): void {
  const context = currentContext();
  if (!context) return;
  latest.set(context, details);
  context.heartbeat(details);
}

/** Waits `ms`, or less when the activity is cancelled (the workflow cancelled it, or its attempt timed out). */
export async function pause(ms: number): Promise<void> {
  const signal = currentContext()?.cancellationSignal;
  await sleep(ms, undefined, signal ? { signal } : undefined);
}

/**
 * Wraps every activity whose contract entry says it heartbeats: while it runs, a timer heartbeats every
 * HEARTBEAT_EVERY_MS with its latest progress, so a step blocked in one long call (an SSH command, a Temporal
 * update) still proves its worker alive, and learns of a cancellation.
 */
export function withHeartbeats<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    if (!CONTRACT[name as ActivityName]?.heartbeat) {
      wrapped[name] = fn;
      continue;
    }
    wrapped[name] = async (...args: never[]) => {
      const context = currentContext();
      const timer = context ? setInterval(() => context.heartbeat(latest.get(context)), HEARTBEAT_EVERY_MS) : undefined;
      try {
        return await fn(...args);
      } finally {
        if (timer) clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}

/** This attempt: its number, when Temporal scheduled it, and the last heartbeat details an earlier attempt left. */
export function currentAttempt(): { readonly number: number; readonly scheduledAtMs: number; readonly previousDetails: unknown } {
  const info = currentContext()?.info;
  if (!info) return { number: 1, scheduledAtMs: Date.now(), previousDetails: undefined };
  return { number: info.attempt, scheduledAtMs: info.currentAttemptScheduledTimestampMs, previousDetails: info.heartbeatDetails as unknown };
}

/**
 * The id of this step on the droplet: the same for every attempt of one activity (workflow, run, activity id), so
 * the agent lets a retry adopt what an earlier attempt started instead of running it twice.
 */
export function operationId(): string | undefined {
  const info = currentContext()?.info;
  if (!info?.workflowExecution) return undefined;
  return `${info.workflowExecution.workflowId}.${info.workflowExecution.runId}.${info.activityId}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
}
