import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors';

/** The droplet presented a host key other than the pinned one; nothing was sent to it. */
export class HostKeyMismatchError extends Error {
  override readonly name = 'HostKeyMismatchError';

  constructor(
    readonly host: string,
    readonly expectedFingerprint: string,
    readonly presentedFingerprint: string,
  ) {
    super(
      `SSH host key of ${host} is ${presentedFingerprint}, not the pinned ${expectedFingerprint}: refusing to talk to it. ` +
        'If the droplet was rebuilt on purpose, pin its new host key; otherwise treat this as an attack.',
    );
  }
}

/** The droplet could not be reached or stopped answering (refused, timed out, connection lost): worth retrying. */
export class SshUnavailableError extends Error {
  override readonly name = 'SshUnavailableError';

  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The connection options are wrong (e.g. the pinned host key is not a public key line): no retry can fix it. */
export class SshInputError extends Error {
  override readonly name = 'SshInputError';
}

/** The droplet refused our key. */
export class SshAuthError extends Error {
  override readonly name = 'SshAuthError';
}

/**
 * SSH adapter errors as Temporal failures: a host-key mismatch is never retried (HostKeyMismatch), nor is a
 * refused key (AuthError); unreachable droplets are Unavailable and retried. Undefined for other errors.
 */
export function toSshFailure(err: unknown): ApplicationFailure | undefined {
  if (err instanceof HostKeyMismatchError) {
    return ApplicationFailure.create({
      message: err.message,
      type: ErrorType.HostKeyMismatch,
      nonRetryable: true,
      details: [{ host: err.host, expected: err.expectedFingerprint, presented: err.presentedFingerprint }],
    });
  }
  if (err instanceof SshInputError) {
    return ApplicationFailure.create({ message: err.message, type: ErrorType.InvalidInput, nonRetryable: true });
  }
  if (err instanceof SshAuthError) {
    return ApplicationFailure.create({ message: err.message, type: ErrorType.AuthError, nonRetryable: true });
  }
  if (err instanceof SshUnavailableError) {
    return ApplicationFailure.create({
      message: err.message,
      type: ErrorType.Unavailable,
      nonRetryable: false,
      details: [{ code: err.code ?? null }],
    });
  }
  return undefined;
}
