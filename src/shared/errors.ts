/**
 * The one catalogue of failure types: every type a workflow can see, declared once with whether a retry can fix it.
 * Workflows raise ApplicationFailures with these types; activity retry policies and the adapters' error mapping take
 * their non-retryable lists from here, so a type means the same thing everywhere.
 *
 * Final (no retry can fix them):
 * - InvalidInput: input failed validation; the message names the field and the accepted values.
 * - ConfigError: controller configuration is missing or malformed.
 * - AuthError: credentials were rejected (401/403, "Not Authorized").
 * - Rejected: the remote system refused the request as malformed (4xx other than 401/403/404/429).
 * - NotFound: a resource the operation needs does not exist.
 * - HostKeyMismatch: the droplet presented an SSH host key other than the pinned one; nothing is sent.
 * - NotOwned: the resource named in the input is not the installation's (wrong tag or name, another Railway service
 *   or environment); nothing was changed. The message names the resource and the installation.
 * - Retiring: the installation is being torn down; no new operation is accepted.
 * - DeployFailed: a deploy failed and rolled back everything it created.
 * - MigrateFailed: a migrate failed; the new droplet was removed and the old one keeps serving.
 * - EmailSetFailed: `email set`/`unset` failed after writing; the previous email variables were put back.
 * - RollbackIncomplete: an operation failed and could not undo everything it created (run teardown once fixed).
 * - Expired: a request reached a worker after its sender had stopped waiting for it; it was not carried out.
 * - SchemaMigrationFailed: a migration of the webapp's database chain failed; it is recorded as failed in
 *   `_prisma_migrations` (as Prisma records one) and nothing after it ran. The message names the file and the error.
 * - DatabaseConflict: the webapp's database has a history this chain cannot continue (migrations it does not know,
 *   failed ones, tables without a history) or another migrator held the lock too long; nothing was applied.
 * Transient (retried):
 * - RateLimited: 429; retried after the server's retry-after.
 * - Unavailable: 5xx, a timeout, a refused connection; retried with backoff.
 */
const FINAL = ['InvalidInput', 'ConfigError', 'AuthError', 'Rejected', 'NotFound', 'HostKeyMismatch', 'NotOwned', 'Retiring', 'DeployFailed', 'MigrateFailed', 'EmailSetFailed', 'RollbackIncomplete', 'Expired', 'SchemaMigrationFailed', 'DatabaseConflict'] as const;
const TRANSIENT = ['RateLimited', 'Unavailable'] as const;

export type ErrorType = (typeof FINAL)[number] | (typeof TRANSIENT)[number];

export const ErrorType = Object.fromEntries([...FINAL, ...TRANSIENT].map((t) => [t, t])) as { readonly [T in ErrorType]: T };

/** Failure types that no retry can fix: what every retry policy and error mapper treats as final. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = FINAL;

export function isRetryable(type: ErrorType): boolean {
  return (TRANSIENT as readonly string[]).includes(type);
}

/** Raised outside workflows (CLI, worker start-up) when configuration is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
