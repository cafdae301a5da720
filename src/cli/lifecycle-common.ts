import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { installationIdSchema } from '../shared/ids';
import { CliError } from './context';

/** The --installation flag, validated. */
export function parseInstallation(value: string): string {
  const id = installationIdSchema.safeParse(value);
  if (!id.success) throw new CliError(`Invalid --installation "${value}": ${id.error.issues[0]?.message ?? 'invalid'}`, 2);
  return id.data;
}

/** Turns Temporal's errors for an update or signal into one sentence for a person. */
export function lifecycleError(err: unknown, installationId: string): unknown {
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(`No installation workflow for "${installationId}": deploy it first (trigger-ops deploy).`, 4);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    let message = err.message;
    for (let c: unknown = err.cause; c instanceof Error; c = c.cause) message = c.message || message;
    return new CliError(message, 2);
  }
  return err;
}
