import { ErrorType } from '../../shared/errors';
import { ApiError, apiFailureMapper, type ApiErrorDetails } from '../api-error';

/**
 * A failed Railway call, classified with a catalogue type. Built only from the response (status, GraphQL error
 * messages, rate-limit headers) or the transport's error: never from the request, so no token or variable value
 * sent reaches the message.
 */
export interface RailwayErrorDetails extends ApiErrorDetails {
  /** The `errors[].message` texts Railway answered with. */
  readonly graphqlMessages?: readonly string[] | undefined;
}

export class RailwayApiError extends ApiError<RailwayErrorDetails> {
  override readonly name = 'RailwayApiError';
}

/** A RailwayApiError as a Temporal failure (429s retried after Retry-After); undefined for other errors. */
export const toRailwayFailure = apiFailureMapper(RailwayApiError);

/** How Railway's GraphQL error texts map onto the catalogue (reference §4). */
export function classifyGraphqlErrors(messages: readonly string[]): ErrorType {
  const text = messages.join('\n').toLowerCase();
  if (/not authorized|project token not found|two factor authentication required/.test(text)) return ErrorType.AuthError;
  if (/\bnot found\b/.test(text)) return ErrorType.NotFound;
  return ErrorType.Rejected;
}
