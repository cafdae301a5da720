/**
 * The one catalogue of failure types. Workflows raise ApplicationFailures with these types; activity retry
 * policies take their non-retryable list from here, so a type means the same thing everywhere.
 */
export const ErrorType = {
  /** Input failed validation: names the field and the accepted values. */
  InvalidInput: 'InvalidInput',
  /** Controller configuration is missing or malformed. */
  ConfigError: 'ConfigError',
  /** Credentials were rejected (401/403, "Not Authorized"). */
  AuthError: 'AuthError',
  /** The remote system refused the request as malformed (4xx other than 401/403/404/429). */
  Rejected: 'Rejected',
  /** A resource the operation needs does not exist. */
  NotFound: 'NotFound',
  /** Rate limited (429); retried after the server's retry-after. */
  RateLimited: 'RateLimited',
  /** A transient failure (5xx, timeout, connection refused); retried with backoff. */
  Unavailable: 'Unavailable',
  /** The droplet presented an SSH host key other than the pinned one: nothing is sent. */
  HostKeyMismatch: 'HostKeyMismatch',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failure types that no retry can fix. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorType.InvalidInput,
  ErrorType.ConfigError,
  ErrorType.AuthError,
  ErrorType.Rejected,
  ErrorType.NotFound,
  ErrorType.HostKeyMismatch,
];

/** Raised outside workflows (CLI, worker start-up) when configuration is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
