import type { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors';
import { ApiError, errorTypeForStatus, toApiFailure, type ApiErrorDetails } from '../api-error';
import { certificateProblem } from '../tls-trust';

export interface DigitalOceanErrorDetails extends ApiErrorDetails {
  /** DigitalOcean's error id (`not_found`, …) or the transport's code (`ECONNABORTED`, …). */
  readonly code?: string | undefined;
  readonly requestId?: string | undefined;
  /** Unix seconds when the oldest counted request leaves the hourly window (ratelimit-reset). */
  readonly rateLimitResetAt?: number | undefined;
}

/** A failed DigitalOcean call, classified by its HTTP status (a bad answer or no answer is Unavailable). */
export class DigitalOceanApiError extends ApiError<DigitalOceanErrorDetails> {
  override readonly name = 'DigitalOceanApiError';

  constructor(operation: string, message: string, details: DigitalOceanErrorDetails = {}, type: ErrorType = errorTypeForStatus(details.status)) {
    super(operation, type, message, details);
  }

  get requestId(): string | undefined {
    return this.details.requestId;
  }
}

interface HttpErrorLike {
  readonly isAxiosError: true;
  readonly code?: string;
  readonly message: string;
  readonly response?: { readonly status: number; readonly data?: unknown; readonly headers?: unknown };
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function numberHeader(headers: unknown, name: string): number | undefined {
  const value = Number(header(headers, name));
  return header(headers, name) !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Turns whatever dots-wrapper (axios) threw into a DigitalOceanApiError; other errors pass through unchanged. */
export function toDigitalOceanError(operation: string, err: unknown): unknown {
  if (!isHttpError(err)) return err;
  const response = err.response;
  if (!response) {
    const code = err.code ?? 'ERR_NETWORK';
    // No retry makes an untrusted certificate trusted: final, and the message says which setting to change.
    const certificate = certificateProblem(err.code, 'DIGITALOCEAN_API_URL');
    if (certificate) return new DigitalOceanApiError(operation, `DigitalOcean ${operation}: ${certificate}`, { code }, ErrorType.ConfigError);
    const what = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timed out' : `could not connect (${code})`;
    return new DigitalOceanApiError(operation, `DigitalOcean ${operation}: ${what}`, { code });
  }
  const body = typeof response.data === 'object' && response.data !== null ? (response.data as Record<string, unknown>) : {};
  const id = typeof body['id'] === 'string' ? body['id'] : undefined;
  const requestId = typeof body['request_id'] === 'string' ? body['request_id'] : header(response.headers, 'x-request-id');
  const text = typeof body['message'] === 'string' ? body['message'] : `HTTP ${response.status}`;
  const suffix = requestId ? ` (request ${requestId})` : '';
  return new DigitalOceanApiError(operation, `DigitalOcean ${operation}: ${response.status} ${id ?? 'error'}: ${text}${suffix}`, {
    status: response.status,
    code: id,
    requestId,
    retryAfterSeconds: numberHeader(response.headers, 'retry-after'),
    rateLimitResetAt: numberHeader(response.headers, 'ratelimit-reset'),
  });
}

/**
 * A DigitalOceanApiError as a Temporal failure with a catalogue type: 401/403 AuthError, 404 NotFound, 400/409/422
 * Rejected (none retryable); 429 RateLimited, retried after retry-after (or when the hourly window frees a slot);
 * 5xx, timeouts and connection errors Unavailable; a TLS certificate it could not verify ConfigError (final). Undefined
 * for errors this adapter did not produce.
 */
export function toDigitalOceanFailure(err: unknown, now: () => number = Date.now): ApplicationFailure | undefined {
  if (!(err instanceof DigitalOceanApiError)) return undefined;
  const untilReset = err.details.rateLimitResetAt === undefined ? undefined : err.details.rateLimitResetAt - Math.floor(now() / 1000);
  return toApiFailure(err, [{ status: err.status ?? null, code: err.details.code ?? null, requestId: err.requestId ?? null }], err.retryAfterSeconds ?? untilReset);
}
