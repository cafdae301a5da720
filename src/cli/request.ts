import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowHandle,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { ErrorType } from '../shared/errors';
import { requestUpdateId } from '../shared/installation-messages';
import { CliError } from './context';

/** One attempt waits at most this long for the acceptance, so the waiting line stays current. */
const ATTEMPT_MS = 10_000;
/** How long past its own deadline the CLI still listens: the entity judges the deadline by the server's clock. */
const CLOCK_SKEW_MS = 5_000;
const FIRST_NOTICE_MS = 1_500;
const NOTICE_EVERY_MS = 20_000;

/** gRPC codes of an attempt that ended before any worker accepted the update: sending it again is safe. */
const NOT_YET = new Set([4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 9 /* FAILED_PRECONDITION */, 10 /* ABORTED */, 14 /* UNAVAILABLE */]);

export interface SendOptions {
  /** What the request is, as the operator typed it ("upgrade", "migrate"). */
  readonly kind: string;
  readonly acceptTimeoutSeconds: number;
  readonly print: (line: string) => void;
}

/**
 * Sends an update and returns once a worker has accepted it (from then on it is in the workflow's history and runs
 * even if that worker dies). Until then it is sent again, always under the same update id, so the server treats
 * every attempt as the one request and it can never be carried out twice. An update is lost on its way whenever no
 * worker takes it: none is running, or the one that took it died before answering (the server then rejects it as
 * "not processed by worker"). The id carries the deadline, and the entity refuses the request after it; so when no
 * worker accepted it in time, nothing was done, and nothing will be.
 */
export async function sendUntilAccepted<R, A>(
  client: Client,
  handle: WorkflowHandle,
  update: UpdateDefinition<R, [A]>,
  arg: A,
  options: SendOptions,
): Promise<WorkflowUpdateHandle<R>> {
  const timeoutMs = options.acceptTimeoutSeconds * 1000;
  const started = Date.now();
  const acceptBy = started + timeoutMs;
  const updateId = requestUpdateId(update.name, randomUUID(), acceptBy);
  const nothingDone = () =>
    new CliError(
      `no worker accepted the ${options.kind} request within ${options.acceptTimeoutSeconds}s: nothing was done. ` +
        'Start a worker (trigger-ops worker, or npm start) and run the command again.',
      3,
    );
  let noticed = 0;
  const notice = () => {
    const waited = Math.round((Date.now() - started) / 1000);
    options.print(
      noticed === 0
        ? `  … waiting for a worker to accept the ${options.kind} request (up to ${options.acceptTimeoutSeconds}s)`
        : `  … still waiting for a worker to accept the ${options.kind} request (${waited}s of ${options.acceptTimeoutSeconds}s)`,
    );
    noticed += 1;
  };
  const ticker = setInterval(() => {
    if (Date.now() - started >= FIRST_NOTICE_MS + noticed * NOTICE_EVERY_MS) notice();
  }, 250);
  try {
    for (;;) {
      const left = acceptBy + CLOCK_SKEW_MS - Date.now();
      if (left <= 0) throw nothingDone();
      try {
        return await client.withDeadline(Date.now() + Math.min(left, ATTEMPT_MS), () =>
          handle.startUpdate(update, { args: [arg], updateId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
        );
      } catch (err) {
        if (refusedAsLate(err)) throw nothingDone();
        if (!notAcceptedYet(err)) throw err;
        if (noticed === 0) notice();
        await sleep(Math.min(500, Math.max(0, acceptBy + CLOCK_SKEW_MS - Date.now())));
      }
    }
  } finally {
    clearInterval(ticker);
  }
}

/** The attempt ended with no worker having accepted the update: nothing ran, and the same id may be sent again. */
function notAcceptedYet(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  if (err instanceof WorkflowUpdateFailedError) return err.cause instanceof ApplicationFailure && err.cause.type === 'UnprocessedUpdate';
  if (err instanceof ServiceError) return isGrpcServiceError(err.cause) && NOT_YET.has(err.cause.code);
  return isGrpcServiceError(err) && NOT_YET.has(err.code);
}

/** The entity refused the request because it came after its deadline (a worker came back just too late). */
function refusedAsLate(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ErrorType.Expired;
}
