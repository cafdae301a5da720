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
