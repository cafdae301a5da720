import { ClientError, GraphQLClient, type Variables } from 'graphql-request';
import { ErrorType } from '../../shared/errors';
import { classifyGraphqlErrors, RailwayApiError } from './errors';
import { BOUNDS } from '../../shared/activity-contract';
import { meterExternalCall } from '../call-meter';

/** Railway credentials: an account/workspace token (`Authorization: Bearer`) or a project token (`Project-Access-Token`). */
export type RailwayAuth = { readonly kind: 'account'; readonly token: string } | { readonly kind: 'project'; readonly token: string };

export interface RailwayClientOptions {
  /** e.g. https://backboard.railway.com/graphql/v2 */
  readonly url: string;
  readonly auth: RailwayAuth;
  /** Per request; default 30 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Sends one GraphQL document; failures are RailwayApiErrors. */
export interface RailwayGraphqlClient {
  request(operation: string, document: string, variables?: Record<string, unknown>): Promise<unknown>;
}

/** The one place graphql-request is used. */
export function createRailwayGraphqlClient(options: RailwayClientOptions): RailwayGraphqlClient {
  const timeoutMs = options.timeoutMs ?? BOUNDS.railwayRequestMs;
  const baseFetch = options.fetch ?? fetch;
  const headers: Record<string, string> =
    options.auth.kind === 'project'
      ? { 'Project-Access-Token': options.auth.token, 'x-source': 'trigger-ops' }
      : { Authorization: `Bearer ${options.auth.token}`, 'x-source': 'trigger-ops' };
  const client = new GraphQLClient(options.url, {
    headers,
    fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) => baseFetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
  });
  return {
    async request(operation, document, variables = {}) {
      try {
        return await meterExternalCall('railway', () => client.request<unknown>(document, variables as Variables));
      } catch (err) {
        throw toRailwayError(operation, err, timeoutMs);
      }
    },
  };
}

function toRailwayError(operation: string, err: unknown, timeoutMs: number): RailwayApiError {
  const prefix = `Railway ${operation}`;
  if (err instanceof ClientError) {
    const status = err.response.status;
    const headers = err.response.headers as Headers | undefined;
    const messages = (err.response.errors ?? []).map((e) => e.message).filter((m) => typeof m === 'string');
    if (status === 429) {
      const retryAfter = Number(headers?.get?.('retry-after'));
      const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
      const when = retryAfterSeconds === undefined ? 'later' : `in ${retryAfterSeconds}s`;
      return new RailwayApiError(operation, ErrorType.RateLimited, `${prefix}: rate limited by Railway (429); retry ${when}`, {
        status,
        retryAfterSeconds,
      });
    }
    if (status >= 500 || (status >= 400 && messages.length === 0 && status !== 401 && status !== 403)) {
      const type = status >= 500 ? ErrorType.Unavailable : ErrorType.Rejected;
      return new RailwayApiError(operation, type, `${prefix}: HTTP ${status}${messages.length ? `: ${messages.join('; ')}` : ''}`, {
        status,
        graphqlMessages: messages,
      });
    }
    if (status === 401 || status === 403) {
      return new RailwayApiError(operation, ErrorType.AuthError, `${prefix}: HTTP ${status}: the Railway token was refused`, {
        status,
        graphqlMessages: messages,
      });
    }
    const type = classifyGraphqlErrors(messages);
    const hint =
      type === ErrorType.AuthError
        ? ' (check RAILWAY_API_TOKEN or RAILWAY_TOKEN, and that a project token belongs to this project and environment)'
        : '';
    return new RailwayApiError(operation, type, `${prefix}: ${messages.join('; ') || 'error without a message'}${hint}`, {
      status,
      graphqlMessages: messages,
    });
  }
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RailwayApiError(operation, ErrorType.Unavailable, `${prefix}: no answer within ${timeoutMs} ms`);
  }
  if (err instanceof SyntaxError || (err instanceof Error && /json|invalid execution result/i.test(err.message))) {
    return new RailwayApiError(operation, ErrorType.Unavailable, `${prefix}: Railway answered with something that is not GraphQL JSON`);
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new RailwayApiError(
    operation,
    ErrorType.Unavailable,
    `${prefix}: could not reach Railway (${typeof code === 'string' ? code : err instanceof Error ? err.message : 'unknown error'})`,
  );
}
