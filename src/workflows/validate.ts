import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { ErrorType } from '../shared/errors';
import { check } from '../shared/validation';
import { QueryRefusal } from '../temporal/failure-converter';

/** Parses an input or a message; a bad one is refused with InvalidInput ("Invalid <what>: …", naming each field). */
export function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const checked = check(schema, value);
  if (!checked.ok) throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${checked.problems}`, ErrorType.InvalidInput);
  return checked.data;
}

/** Parses a workflow input; a bad one fails the execution at once, naming each field and what it accepts. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, workflowType: string): z.output<S> {
  return parseOrRefuse(schema, input, `${workflowType} input`);
}

const noArgumentsSchema = z.object({}).strict();

/**
 * Why a message that takes no argument (a query, the retire signal) is refused, or undefined when it is not:
 * nothing, null or `{}` is accepted; anything else would be silently ignored, so it is refused instead.
 */
export function refusalOfArguments(args: readonly unknown[], what: string): string | undefined {
  if (args.length > 1) return `Invalid ${what}: it takes no arguments, got ${args.length}`;
  const checked = check(noArgumentsSchema, args[0]);
  return checked.ok ? undefined : `Invalid ${what}: it takes no arguments (${checked.problems})`;
}

/** A query handler that takes no argument: arguments are refused with InvalidInput, so the caller sees why. */
export function withoutArguments<R>(what: string, answer: () => R): (...args: unknown[]) => R {
  return (...args) => {
    const why = refusalOfArguments(args, what);
    if (why) throw new QueryRefusal(why, ErrorType.InvalidInput);
    return answer();
  };
}
