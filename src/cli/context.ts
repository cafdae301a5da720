import type { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { loadConfig, type Config } from '../config';
import { loadCodec } from '../local/controller';
import { connectClient } from '../temporal/connection';

/** Thrown by commands for a failure the user can act on: printed as one sentence, exit code attached. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function cliConfig(): Config {
  return loadConfig(process.env);
}

/** A Temporal client for commands that talk to an already running controller. */
export async function cliClient(config: Config): Promise<Client> {
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
  try {
    return await connectClient(config.temporal, address, loadCodec(config));
  } catch (err) {
    throw new CliError(
      `${err instanceof Error ? err.message : String(err)}\nStart the controller first (npm start) or set TEMPORAL_ADDRESS.`,
      3,
    );
  }
}

/** The first application-level message of a failed workflow: the sentence worth showing to a person. */
export function failureMessage(err: WorkflowFailedError): string {
  let current: unknown = err.cause;
  let message = err.message;
  while (current instanceof Error) {
    message = current.message || message;
    if (current instanceof ApplicationFailure) return current.message;
    current = current.cause;
  }
  return message;
}
