import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, isRetryable } from '../../shared/errors';

/**
 * A failed Railway call, classified with a catalogue type. Built only from the response (status, GraphQL error
 * messages, rate-limit headers) or the transport's error: never from the request, so no token or variable value
 * sent reaches the message.
 */
export class RailwayApiError extends Error {
  override readonly name = 'RailwayApiError';

  constructor(
    /** The GraphQL operation that failed, e.g. `VariableCollectionUpsert`. */
    readonly operation: string,
    readonly type: ErrorType,
    message: string,
    readonly details: {
      readonly status?: number | undefined;
      /** The `errors[].message` texts Railway answered with. */
      readonly graphqlMessages?: readonly string[] | undefined;
      readonly retryAfterSeconds?: number | undefined;
    } = {},
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

const MAX_RATE_LIMIT_WAIT_SECONDS = 3600;

/** A RailwayApiError as a Temporal failure (429s retried after Retry-After); undefined for other errors. */
export function toRailwayFailure(err: unknown): ApplicationFailure | undefined {
  if (!(err instanceof RailwayApiError)) return undefined;
  const details = [{ operation: err.operation, status: err.status ?? null }];
  const delay =
    err.type === ErrorType.RateLimited && err.retryAfterSeconds !== undefined
      ? Math.min(Math.max(1, err.retryAfterSeconds), MAX_RATE_LIMIT_WAIT_SECONDS)
      : undefined;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !isRetryable(err.type),
    details,
    ...(delay === undefined ? {} : { nextRetryDelay: `${delay}s` }),
  });
}

/** How Railway's GraphQL error texts map onto the catalogue (reference §4). */
export function classifyGraphqlErrors(messages: readonly string[]): ErrorType {
  const text = messages.join('\n').toLowerCase();
  if (/not authorized|project token not found|two factor authentication required/.test(text)) return ErrorType.AuthError;
  if (/\bnot found\b/.test(text)) return ErrorType.NotFound;
  return ErrorType.Rejected;
}
