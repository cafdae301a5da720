/**
 * The one catalogue of failure types: every type a workflow can see, declared once with whether a retry can fix it.
 * Workflows raise ApplicationFailures with these types; activity retry policies and the adapters' error mapping take
 * their non-retryable lists from here, so a type means the same thing everywhere.
 */
export const ERROR_CATALOGUE = {
  /** Input failed validation: names the field and the accepted values. */
  InvalidInput: { retryable: false },
  /** Controller configuration is missing or malformed. */
  ConfigError: { retryable: false },
  /** Credentials were rejected (401/403, "Not Authorized"). */
  AuthError: { retryable: false },
  /** The remote system refused the request as malformed (4xx other than 401/403/404/429). */
  Rejected: { retryable: false },
  /** A resource the operation needs does not exist. */
  NotFound: { retryable: false },
  /** Rate limited (429); retried after the server's retry-after. */
  RateLimited: { retryable: true },
  /** A transient failure (5xx, timeout, connection refused); retried with backoff. */
  Unavailable: { retryable: true },
  /** The droplet presented an SSH host key other than the pinned one: nothing is sent. */
  HostKeyMismatch: { retryable: false },
  /** The installation is being torn down: no new operation is accepted. */
  Retiring: { retryable: false },
  /** A deploy failed and rolled back everything it created. */
  DeployFailed: { retryable: false },
  /** A migrate failed; the new droplet was removed and the old one keeps serving. */
  MigrateFailed: { retryable: false },
  /** An operation failed and could not undo everything it created: run teardown once the cause is fixed. */
  RollbackIncomplete: { retryable: false },
} as const satisfies Record<string, { readonly retryable: boolean }>;

export type ErrorType = keyof typeof ERROR_CATALOGUE;

export const ErrorType = Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((t) => [t, t])) as { readonly [T in ErrorType]: T };

/** Failure types that no retry can fix: what every retry policy and error mapper treats as final. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = (Object.keys(ERROR_CATALOGUE) as ErrorType[]).filter(
  (t) => !ERROR_CATALOGUE[t].retryable,
);

export function isRetryable(type: ErrorType): boolean {
  return ERROR_CATALOGUE[type].retryable;
}

/** Raised outside workflows (CLI, worker start-up) when configuration is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
