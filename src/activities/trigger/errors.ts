import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, isRetryable } from '../../shared/errors';

/** A failed call to the Trigger.dev webapp; the message never carries a token or secret that was sent. */
export class WebappApiError extends Error {
  override readonly name = 'WebappApiError';

  constructor(
    readonly operation: string,
    readonly type: ErrorType,
    message: string,
    readonly details: { readonly status?: number | undefined; readonly retryAfterSeconds?: number | undefined } = {},
  ) {
    super(message);
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** HTTP status → catalogue type: 401/403 AuthError, 404 NotFound, 429 RateLimited, other 4xx Rejected, else Unavailable. */
export function errorTypeForStatus(status: number): ErrorType {
  if (status === 401 || status === 403) return ErrorType.AuthError;
  if (status === 404) return ErrorType.NotFound;
  if (status === 429) return ErrorType.RateLimited;
  if (status >= 400 && status < 500) return ErrorType.Rejected;
  return ErrorType.Unavailable;
}


export function toWebappFailure(err: unknown): ApplicationFailure | undefined {
  if (!(err instanceof WebappApiError)) return undefined;
  const retry = err.details.retryAfterSeconds;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !isRetryable(err.type),
    details: [{ operation: err.operation, status: err.status ?? null }],
    ...(err.type === ErrorType.RateLimited && retry !== undefined ? { nextRetryDelay: `${Math.max(1, retry)}s` } : {}),
  });
}
