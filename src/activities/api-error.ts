import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, isRetryable } from '../shared/errors';

export interface ApiErrorDetails {
  /** HTTP status; undefined for timeouts and connection errors. */
  readonly status?: number | undefined;
  readonly retryAfterSeconds?: number | undefined;
}

/**
 * A failed call to an external API (DigitalOcean, Railway, the webapp), classified with a catalogue type. Each
 * adapter builds it only from the response or the transport's error, never from the request, so no token or secret
 * that was sent can reach the message.
 */
export class ApiError<D extends ApiErrorDetails = ApiErrorDetails> extends Error {
  constructor(
    /** The adapter method or GraphQL operation that failed, e.g. `createDroplet`. */
    readonly operation: string,
    readonly type: ErrorType,
    message: string,
    readonly details: D = {} as D,
  ) {
    super(message);
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get retryAfterSeconds(): number | undefined {
    return this.details.retryAfterSeconds;
  }
}

/** HTTP status → catalogue type: 401/403 AuthError, 404 NotFound, 429 RateLimited, other 4xx Rejected, else Unavailable. */
export function errorTypeForStatus(status: number | undefined): ErrorType {
  if (status === undefined) return ErrorType.Unavailable;
  if (status === 401 || status === 403) return ErrorType.AuthError;
  if (status === 404) return ErrorType.NotFound;
  if (status === 429) return ErrorType.RateLimited;
  if (status >= 400 && status < 500) return ErrorType.Rejected;
  return ErrorType.Unavailable;
}

const MAX_RATE_LIMIT_WAIT_SECONDS = 3600;

/**
 * An ApiError as a Temporal failure: its catalogue type, final unless the catalogue says a retry can fix it, and a
 * rate limit retried once the server's wait is over (at most an hour).
 */
export function toApiFailure(err: ApiError, details: readonly unknown[], retryAfterSeconds = err.retryAfterSeconds): ApplicationFailure {
  const delay =
    err.type === ErrorType.RateLimited && retryAfterSeconds !== undefined
      ? Math.min(Math.max(1, retryAfterSeconds), MAX_RATE_LIMIT_WAIT_SECONDS)
      : undefined;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !isRetryable(err.type),
    details: [...details],
    ...(delay === undefined ? {} : { nextRetryDelay: `${delay}s` }),
  });
}

/** A failure mapper (src/activities/failures.ts) for one adapter's ApiError class: its operation and status as details. */
export function apiFailureMapper(errorClass: abstract new (...args: never[]) => ApiError) {
  return (err: unknown): ApplicationFailure | undefined =>
    err instanceof errorClass ? toApiFailure(err, [{ operation: err.operation, status: err.status ?? null }]) : undefined;
}
