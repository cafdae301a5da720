import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';

/** Named activity presets: every workflow picks one of these instead of inventing timeouts. */
export const quickActivity: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
};

/** A call to a cloud API: short, retried with backoff (429s wait for retry-after through nextRetryDelay). */
export const cloudCall: ActivityOptions = {
  // Each API call has a 15 s client timeout; a worker that dies mid-call is noticed after this.
  startToCloseTimeout: '45 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
};

/** A step that waits on something slow (boot, cloud-init, a Railway deploy, a health gate) and heartbeats. */
export function longWait(timeoutSeconds: number): ActivityOptions {
  return {
    startToCloseTimeout: `${timeoutSeconds + 60} seconds`,
    // Waits heartbeat on every poll; a dead worker's wait is picked up by another within this.
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 3,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  };
}

/** An undo: retried until it succeeds, except when the credentials themselves are refused. */
export const compensation: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['AuthError'],
  },
};
