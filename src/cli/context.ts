import type { Client } from '@temporalio/client';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config';
import { loadCodec } from '../controller';
import { installationIdSchema } from '../shared/ids';
import { connectClient } from '../temporal/connection';

/**
 * The one base every command shares: its flags (-i/--installation, --json), a connected client that is always
 * closed, Temporal's errors turned into one sentence with an exit code, and how a result is printed.
 */

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

/** A command with the shared flags: `-i, --installation <id>` (default "default") and `--json`. */
export function installationCommand(program: Command, spec: string, description: string): Command {
  return program.command(spec).description(description).option('-i, --installation <id>', 'installation id', 'default').option('--json', 'print the result as JSON');
}

/** Requests a worker must accept (upgrade, migrate) wait this long for one by default. */
export const DEFAULT_ACCEPT_TIMEOUT_SECONDS = 120;

/** `--accept-timeout <seconds>`: how long a request waits for a worker to accept it before nothing is done. */
export function acceptTimeoutOption(command: Command): Command {
  return command.option(
    '--accept-timeout <seconds>',
    `how long to wait for a worker to accept the request; after it, nothing is done (default ${DEFAULT_ACCEPT_TIMEOUT_SECONDS})`,
  );
}

/** The --accept-timeout flag, validated: whole seconds, 1 to 3600. */
export function parseAcceptTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_ACCEPT_TIMEOUT_SECONDS;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
    throw new CliError(`Invalid --accept-timeout "${value}": must be whole seconds from 1 to 3600 (e.g. 120)`, 2);
  }
  return seconds;
}

/** The --installation flag, validated. */
export function parseInstallation(value: string): string {
  const id = installationIdSchema.safeParse(value);
  if (!id.success) throw new CliError(`Invalid --installation "${value}": ${id.error.issues[0]?.message ?? 'invalid'}`, 2);
  return id.data;
}

/**
 * Runs a command's body with a connected client and closes it whatever happens. A failed workflow, a missing
 * installation workflow and a refused update each become one sentence with their exit code.
 */
export async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>, installationId?: string): Promise<T> {
  const config = cliConfig();
  const client = await cliClient(config);
  try {
    return await fn(client, config);
  } catch (err) {
    throw toCliError(err, installationId);
  } finally {
    await client.connection.close();
  }
}

/** Prints a result: one line of JSON with --json, the human text otherwise. */
export function printResult(flags: { readonly json?: boolean }, value: unknown, text: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(value)}\n` : text());
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

function toCliError(err: unknown, installationId: string | undefined): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowFailedError) return new CliError(failureMessage(err), 5);
  if (err instanceof WorkflowNotFoundError && installationId !== undefined) {
    return new CliError(`No installation workflow for "${installationId}": deploy it first (trigger-ops deploy).`, 4);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    let message = err.message;
    for (let c: unknown = err.cause; c instanceof Error; c = c.cause) message = c.message || message;
    return new CliError(message, 2);
  }
  return err;
}
