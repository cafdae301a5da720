import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  defaultFieldResolver,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFieldResolver,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { FaultKind } from '../contracts';
import { identify, type RequestContext } from './access';
import { createFaultQueue, type Faults } from './faults';
import { createServerLifecycle, listen, readBody, sendJson, sendText } from './http-util';
import { createRateLimiter, DEFAULT_RATE_LIMITS, type RateLimitWindow } from './rate-limit';
import { mutationResolvers, queryResolvers, type RootResolver } from './resolvers';
import { notModeled } from './not-modeled';
import { loadRailwaySchema } from './schema';
import { seedTriggerTemplate, type SeededProject, type TriggerTemplateSeed } from './seed';
import { DEFAULT_DEPLOY_TIMINGS, RailwayStore, type DeployTimings, type DeployTimingsSource } from './store';

export { RailwayStore, DEFAULT_DEPLOY_TIMINGS } from './store';
export type { BootHook, DeployTimings, DeployTimingsSource, DeploymentListener } from './store';
export type { DeploymentRecord, DeploymentStatus, LogRecord } from './model';
export { PUBLISHED_DEFAULT_SECRETS, SERVICE_NAMES, WEBAPP_SECRET_NAMES } from './seed';
export type { SeededProject, TriggerTemplateSeed } from './seed';
export type { Faults } from './faults';
export type { RateLimitWindow } from './rate-limit';
export { loadRailwaySchema, RAILWAY_SCHEMA_PATH } from './schema';
export { NOT_MODELED } from './not-modeled';

export const RAILWAY_GRAPHQL_PATH = '/graphql/v2';

/**
 * Railway serves subscriptions over WebSocket (`graphql-transport-ws`, reference §1) and the stand-in has HTTP only.
 * Each subscription of the CLI has a query of the same name and arguments (deployment, deploymentLogs, buildLogs).
 */
export const SUBSCRIPTION_OVER_HTTP =
  'Subscriptions are served over WebSocket (graphql-transport-ws), which the sandbox Railway API does not model; query the same field instead';

export interface RailwayApiOptions {
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly seed?: TriggerTemplateSeed;
  /** Phase durations of deployments (tests use tens of milliseconds), or a function asked once per deployment. */
  readonly deployTimings?: Partial<DeployTimings> | (() => DeployTimings);
  /** Per-token fixed windows; default Railway Pro (10,000/h, 50/s). */
  readonly rateLimits?: readonly RateLimitWindow[];
}

export interface RailwayInspection {
  /** Requests per GraphQL root field name. */
  readonly calls: Readonly<Record<string, number>>;
  /** Raw variables of the seeded environment, by service name (`shared` for shared variables). */
  readonly variables: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Every deployment, newest first. */
  readonly deployments: readonly {
    readonly id: string;
    readonly service: string;
    readonly environmentId: string;
    readonly status: string;
    readonly reason: string;
    readonly createdAt: string;
  }[];
}

export interface RailwayApi extends SeededProject {
  /** `http://127.0.0.1:<port>/graphql/v2` */
  readonly url: string;
  /** Account token: `Authorization: Bearer <token>`. */
  readonly accountToken: string;
  /** Project token of the seeded production environment: `Project-Access-Token: <token>`. */
  readonly projectToken: string;
  readonly store: RailwayStore;
  readonly faults: Faults;
  inspect(): RailwayInspection;
  close(): Promise<void>;
}

/** Starts the Railway GraphQL stand-in: the official schema, a seeded Trigger.dev template project, real HTTP. */
export async function startRailwayApi(options: RailwayApiOptions = {}): Promise<RailwayApi> {
  const schema = loadRailwaySchema();
  const timings = options.deployTimings;
  const store = new RailwayStore(typeof timings === 'function' ? timings : ({ ...DEFAULT_DEPLOY_TIMINGS, ...timings } satisfies DeployTimingsSource));
  const seeded = seedTriggerTemplate(store, options.seed);
  const accountToken = randomUUID();
  const accountTokens = new Set([accountToken]);
  const projectToken = store.createProjectToken(seeded.projectId, seeded.environmentId).token;
  const faults = createFaultQueue();
  const limiter = createRateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS);
  const calls: Record<string, number> = {};

  const rootResolvers = new Map<string, Record<string, RootResolver>>([
    [schema.getQueryType()?.name ?? 'Query', queryResolvers],
    [schema.getMutationType()?.name ?? 'Mutation', mutationResolvers],
  ]);
  // The schema is Railway's whole one: a field neither a root resolver nor a view provides is one the sandbox has
  // no data for, and says so, instead of answering a null the real API would not give.
  const fieldResolver: GraphQLFieldResolver<unknown, RequestContext> = (source, args, ctx, info) => {
    const roots = rootResolvers.get(info.parentType.name);
    if (!roots) {
      if (typeof source === 'object' && source !== null && info.fieldName in source) {
        return defaultFieldResolver(source, args, ctx, info);
      }
      throw notModeled(info);
    }
    const resolve = roots[info.fieldName];
    if (!resolve) throw notModeled(info);
    return resolve(args, ctx, info);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (lifecycle.signal.aborted || res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { errors: [{ message: err instanceof Error ? err.message : 'Internal error' }] });
    });
  });
  const lifecycle = createServerLifecycle(server);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== RAILWAY_GRAPHQL_PATH) return sendText(res, 404, 'Not Found');
    if (req.method !== 'POST') return sendText(res, 405, 'Method Not Allowed', { allow: 'POST' });
    const authorization = req.headers['authorization'];
    const projectAccessToken = req.headers['project-access-token'];
    const tokenHeader = typeof projectAccessToken === 'string' ? projectAccessToken : authorization;
    const verdict = limiter.hit(tokenHeader ?? `ip:${req.socket.remoteAddress ?? ''}`);
    if (!verdict.allowed) {
      return sendJson(res, 429, { data: null, errors: [{ message: 'Rate limit exceeded, retry later' }] }, verdict.headers);
    }
    const headers = verdict.headers;

    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (err) {
      return sendJson(res, 400, { errors: [{ message: `Invalid JSON body: ${(err as Error).message}` }] }, headers);
    }
    if (typeof body !== 'object' || body === null || typeof body.query !== 'string') {
      return sendJson(res, 400, { errors: [{ message: 'Must provide query string.' }] }, headers);
    }
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (err) {
      if (err instanceof GraphQLError) return sendJson(res, 200, { errors: [err.toJSON()] }, headers);
      throw err;
    }
    const validationErrors = validate(schema, document);
    if (validationErrors.length > 0) {
      return sendJson(res, 200, { errors: validationErrors.map((e) => e.toJSON()) }, headers);
    }
    const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
      return sendJson(res, 200, { errors: [{ message: SUBSCRIPTION_OVER_HTTP }] }, headers);
    }
    const fields = operation ? rootFieldNames(document, operation) : [];
    for (const f of fields) calls[f] = (calls[f] ?? 0) + 1;

    const fault = faults.take(fields);
    if (fault) {
      const answered = await applyFault(res, fault.kind, headers);
      if (answered) return;
    }

    const variableValues =
      typeof body.variables === 'object' && body.variables !== null ? (body.variables as Record<string, unknown>) : undefined;
    const contextValue: RequestContext = {
      store,
      caller: identify(store, accountTokens, {
        authorization,
        projectAccessToken: typeof projectAccessToken === 'string' ? projectAccessToken : undefined,
      }),
    };
    const result = await execute({
      schema,
      document,
      variableValues,
      operationName,
      contextValue,
      fieldResolver,
    });
    sendJson(res, 200, { ...result, errors: result.errors?.map((e) => e.toJSON()) }, headers);
  }

  /** Returns true when the fault answered the request itself. */
  async function applyFault(res: ServerResponse, kind: FaultKind, headers: Record<string, string>): Promise<boolean> {
    if ('latencyMs' in kind) {
      await lifecycle.wait(kind.latencyMs);
      return false;
    }
    if ('hangMs' in kind) {
      await lifecycle.wait(kind.hangMs);
      return false;
    }
    if ('graphqlError' in kind) {
      sendJson(res, 200, { data: null, errors: [{ message: kind.graphqlError }] }, headers);
      return true;
    }
    const extra: Record<string, string> = { ...headers };
    if (kind.retryAfterSeconds !== undefined) extra['retry-after'] = String(kind.retryAfterSeconds);
    if (kind.message === undefined && kind.status >= 500) {
      // What an edge proxy in front of backboard answers: HTML, not JSON (reference §3).
      const title = `${kind.status} ${STATUS_CODES[kind.status] ?? 'Error'}`;
      sendText(res, kind.status, `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`, extra, 'text/html; charset=utf-8');
    } else {
      sendJson(res, kind.status, { data: null, errors: [{ message: kind.message ?? STATUS_CODES[kind.status] ?? 'Error' }] }, extra);
    }
    return true;
  }

  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const host = options.host ?? '127.0.0.1';

  return {
    ...seeded,
    url: `http://${host}:${port}${RAILWAY_GRAPHQL_PATH}`,
    accountToken,
    projectToken,
    store,
    faults,
    inspect: () => inspect(store, seeded, calls),
    close: async () => {
      store.dispose();
      await lifecycle.close();
    },
  };
}

function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const names: string[] = [];
  const walk = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.push(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = document.definitions.find(
          (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) walk(fragment.selectionSet, seen);
      }
    }
  };
  walk(operation.selectionSet, new Set());
  return names.filter((n) => !n.startsWith('__'));
}

function inspect(store: RailwayStore, seeded: SeededProject, calls: Record<string, number>): RailwayInspection {
  const variables: Record<string, Record<string, string>> = { shared: store.rawVariables(seeded.environmentId) };
  for (const s of store.servicesOf(seeded.projectId)) variables[s.name] = store.rawVariables(seeded.environmentId, s.id);
  return {
    calls: { ...calls },
    variables,
    deployments: store.deploymentsOf(undefined, undefined).map((d) => ({
      id: d.id,
      service: store.services.get(d.serviceId)?.name ?? d.serviceId,
      environmentId: d.environmentId,
      status: d.status,
      reason: d.reason,
      createdAt: d.createdAt.toISOString(),
    })),
  };
}
