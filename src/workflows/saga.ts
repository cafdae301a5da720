import { ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';

/**
 * Compensations of one operation, run last-in first-out. Each is registered BEFORE the step that may create what
 * it undoes (every undo tolerates "not there"), and they run in a non-cancellable scope so that cancelling the
 * workflow still cleans up.
 */
export class Saga {
  readonly #steps: Array<{ readonly name: string; readonly undo: () => Promise<unknown> }> = [];

  add(name: string, undo: () => Promise<unknown>): void {
    this.#steps.unshift({ name, undo });
  }

  /** Runs every compensation; returns the names of those that failed for good (retries exhausted). */
  async compensate(): Promise<string[]> {
    const failed: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const step of this.#steps) {
        try {
          await step.undo();
          log.info('compensated', { step: step.name });
        } catch (err) {
          failed.push(step.name);
          log.error('compensation failed', { step: step.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
    });
    return failed;
  }
}

/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → …): what actually went wrong. */
export function rootCauseMessage(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (current instanceof Error) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

/** The catalogue type of the innermost ApplicationFailure in a failure chain, if any. */
export function failureType(err: unknown): string | undefined {
  let type: string | undefined;
  for (let current: unknown = err; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure && current.type) type = current.type;
  }
  return type;
}
