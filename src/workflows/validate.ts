import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { ErrorType } from '../shared/errors';
import { describeZodError } from '../shared/validation';

/** Parses a workflow input; a bad one fails the execution at once, naming each field and what it accepts. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, workflowType: string): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `Invalid ${workflowType} input: ${describeZodError(parsed.error)}`,
      ErrorType.InvalidInput,
    );
  }
  return parsed.data;
}
