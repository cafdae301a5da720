import type { z } from 'zod';

/** One line per problem: the field's path, what was wrong and, for enums, the accepted values. */
export function describeZodError(error: z.ZodError, root = 'input'): string {
  return error.issues
    .map((issue) => {
      const field = [root, ...issue.path.map(String)].join('.');
      if (issue.code === 'invalid_value' && 'values' in issue) {
        return `${field}: ${issue.message} (accepted: ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
      }
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/** The key of the value a payload the worker could not decode becomes (src/codec/undecodable-codec.ts). */
export const UNDECODABLE_PAYLOAD = 'undecodablePayload';

export type Checked<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly problems: string };

/**
 * Parses an input or a message (nothing and null count as `{}`); the problems name each field, or say why its
 * payload could not be decoded at all.
 */
export function check<S extends z.ZodType>(schema: S, value: unknown, root = 'input'): Checked<z.output<S>> {
  const undecodable = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[UNDECODABLE_PAYLOAD] : undefined;
  if (typeof undecodable === 'string') return { ok: false, problems: `${root}: could not be decoded (${undecodable})` };
  const parsed = schema.safeParse(value ?? {});
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, problems: describeZodError(parsed.error, root) };
}
