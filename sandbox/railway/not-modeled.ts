import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';

/** What the stand-in answers for a field of Railway's schema it has no data for. */
export const NOT_MODELED = 'is not modeled by the sandbox Railway API';

/**
 * An execution error, not a validation error: the document is valid against Railway's schema and the real API would
 * answer it, so the caller learns that the sandbox is the limit, and where (`Type.field` and the response path).
 */
export function notModeled(info: Pick<GraphQLResolveInfo, 'parentType' | 'fieldName' | 'path'>, what?: string): GraphQLError {
  const at = responsePathAsArray(info.path).join('.');
  return new GraphQLError(`${info.parentType.name}.${info.fieldName}${what ? ` ${what}` : ''} ${NOT_MODELED} (at ${at})`);
}
