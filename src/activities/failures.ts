import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../shared/errors';
import type { Redactor } from './secrets/redactor';

/** Turns an adapter's error into a Temporal failure with a catalogue type; undefined when it does not know the error. */
export type FailureMapper = (err: unknown) => ApplicationFailure | undefined;

/**
 * Wraps every activity of a factory so that whatever it throws leaves as an ApplicationFailure with a type from
 * the catalogue and a message with every known secret value redacted.
 */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  mappers: readonly FailureMapper[],
  redactor: Redactor,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err, mappers, redactor);
      }
    };
  }
  return wrapped as T;
}

function toFailure(err: unknown, mappers: readonly FailureMapper[], redactor: Redactor): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    return err.message === redactor.redact(err.message) ? err : ApplicationFailure.create({
      message: redactor.redact(err.message),
      ...(err.type ? { type: err.type } : {}),
      nonRetryable: err.nonRetryable ?? false,
      ...(err.nextRetryDelay ? { nextRetryDelay: err.nextRetryDelay } : {}),
    });
  }
  for (const map of mappers) {
    const failure = map(err);
    if (failure) {
      return ApplicationFailure.create({
        message: redactor.redact(failure.message),
        ...(failure.type ? { type: failure.type } : {}),
        nonRetryable: failure.nonRetryable ?? false,
        ...(failure.nextRetryDelay ? { nextRetryDelay: failure.nextRetryDelay } : {}),
      });
    }
  }
  // Unknown errors are retried: a bug shows up as a stuck, visible retry rather than a silent rollback.
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ message: redactor.redact(message), type: ErrorType.Unavailable });
}

/** A non-retryable failure for bad input found by an activity (e.g. a region the API does not offer). */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.InvalidInput);
}

/** A non-retryable refusal to touch a resource that is not the installation's; names both, and that nothing changed. */
export function notOwned(resource: string, installationId: string, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${resource} does not belong to installation "${installationId}" (${why}); nothing was changed`, ErrorType.NotOwned);
}
