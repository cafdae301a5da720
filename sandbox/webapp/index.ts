import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FaultKind } from '../contracts';
import type { RailwayStore } from '../railway';
import { createFaultQueue, type Faults } from '../railway/faults';
import { createServerLifecycle, listen, readBody, sendJson, sendText } from '../railway/http-util';
import { delayMs, type Delay } from '../timings';
import { bootWebapp, DEFAULT_MANAGED_WORKER_SECRET } from './boot';
import { WorkerGroupRegistry, type WorkerGroup, type WorkerInstance } from './worker-groups';

export type { WorkerGroup, WorkerInstance } from './worker-groups';

/** Route names for `faults.failNext` (a request path works too). */
export type WebappRoute = 'healthcheck' | 'connect' | 'heartbeat' | 'dequeue' | 'admin.workers';

export interface WebappOptions {
  /** Where the webapp's deployments, variables and logs live: a started Railway stand-in will do. */
  readonly railway: {
    readonly store: RailwayStore;
    readonly environmentId: string;
    readonly serviceIds: { readonly webapp: string };
  };
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** How long /dequeue holds an empty long-poll (default 1000 ms). */
  readonly dequeueWaitMs?: Delay;
}

export interface Webapp {
  /** `http://127.0.0.1:<port>`: the webapp's public origin. */
  readonly url: string;
  /** Personal access token of an admin user (`tr_pat_…`), for the admin API. */
  readonly adminToken: string;
  /** Personal access token of a user who is not an admin (403 on the admin API). */
  readonly userToken: string;
  workerGroups(): WorkerGroup[];
  workerInstances(): WorkerInstance[];
  readonly faults: Faults;
  close(): Promise<void>;
}

/** A bound but not yet started webapp: its address is known before Railway is seeded with it. */
export interface ReservedWebapp {
  readonly url: string;
  start(options: Omit<WebappOptions, 'host' | 'port'>): Webapp;
  close(): Promise<void>;
}

const INVALID_WORKER_TOKEN = { error: 'Invalid or missing worker token' } as const;
const INVALID_PAT = { error: 'Invalid or Missing API key' } as const;

/** Starts the webapp stand-in on the Railway stand-in's store. */
export async function startWebapp(options: WebappOptions): Promise<Webapp> {
  const reserved = await reserveWebapp({ ...(options.host !== undefined && { host: options.host }), port: options.port ?? 0 });
  return reserved.start(options);
}

/** Binds the webapp's port now (503 to everything) so its origin can be seeded into Railway before it starts. */
export async function reserveWebapp(options: { host?: string; port?: number } = {}): Promise<ReservedWebapp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    if (!handler) return sendText(res, 503, 'Service Unavailable');
    handler(req, res).catch((err: unknown) => {
      if (lifecycle.signal.aborted || res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { error: err instanceof Error ? err.message : 'Internal error' });
    });
  });
  const lifecycle = createServerLifecycle(server);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host}:${port}`;
  let unsubscribe: (() => void) | undefined;

  const close = async () => {
    unsubscribe?.();
    await lifecycle.close();
  };

  return {
    url,
    close,
    start(opts) {
      const { store, environmentId } = opts.railway;
      const serviceId = opts.railway.serviceIds.webapp;
      const registry = new WorkerGroupRegistry();
      const faults = createFaultQueue();
      const adminToken = `tr_pat_${randomBytes(20).toString('hex')}`;
      const userToken = `tr_pat_${randomBytes(20).toString('hex')}`;
      const dequeueWaitMs = opts.dequeueWaitMs ?? 1000;

      store.setBootHook(serviceId, (d) => bootWebapp(d, registry));
      unsubscribe = () => store.setBootHook(serviceId, undefined);
      const running = store.activeDeployment(environmentId, serviceId);
      if (running) store.boot(running);

      /** Variables of the deployment that serves traffic; undefined while none does. */
      const live = () => store.activeDeployment(environmentId, serviceId)?.variables;

      handler = async (req, res) => {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const route = routeOf(req.method ?? 'GET', path);
        const fault = faults.take(route ? [route, path] : [path]);
        if (fault && (await applyFault(res, fault.kind))) return;

        const vars = live();
        if (route === 'healthcheck') return vars ? sendText(res, 200, 'OK') : sendText(res, 503, 'Service Unavailable');
        if (!route) return sendJson(res, 404, { error: 'Not found' });
        // Railway's edge answers for a service with no running deployment.
        if (!vars) return sendText(res, 503, 'Application failed to respond');

        if (route === 'admin.workers') return adminWorkers(req, res);

        const group = authenticateWorker(req, vars);
        if (!group) return sendJson(res, 401, INVALID_WORKER_TOKEN);
        const instanceName = header(req, 'x-trigger-worker-instance-name') ?? '';
        const body = await jsonBody(req);
        if (body === undefined) return sendJson(res, 400, { error: 'Invalid JSON body' });
        if (route === 'connect') {
          const metadata = (body as { metadata?: unknown }).metadata;
          const version =
            typeof metadata === 'object' && metadata !== null && typeof (metadata as Record<string, unknown>)['workerVersion'] === 'string'
              ? ((metadata as Record<string, unknown>)['workerVersion'] as string)
              : undefined;
          registry.connect(group, instanceName, version);
          return sendJson(res, 200, { ok: true, workerGroup: { type: group.type, name: group.name } });
        }
        if (route === 'heartbeat') {
          registry.instance(group, instanceName).lastHeartbeatAt = new Date();
          return sendJson(res, 200, { ok: true });
        }
        registry.instance(group, instanceName).dequeues += 1;
        await lifecycle.wait(delayMs(dequeueWaitMs));
        return sendJson(res, 200, []);
      };

      function authenticateWorker(req: IncomingMessage, vars: Readonly<Record<string, string>>): WorkerGroup | undefined {
        const token = /^Bearer\s+(\S+)$/.exec(header(req, 'authorization') ?? '')?.[1];
        if (!token?.startsWith('tr_wgt_')) return undefined;
        const group = registry.byToken(token);
        if (!group) return undefined;
        const expected = Buffer.from(vars['MANAGED_WORKER_SECRET'] ?? DEFAULT_MANAGED_WORKER_SECRET);
        const given = Buffer.from(header(req, 'x-trigger-worker-managed-secret') ?? '');
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
        if (!header(req, 'x-trigger-worker-instance-name')) return undefined;
        return group;
      }

      async function adminWorkers(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const pat = /^Bearer\s+(\S+)$/.exec(header(req, 'authorization') ?? '')?.[1];
        if (pat !== adminToken && pat !== userToken) return sendJson(res, 401, INVALID_PAT);
        if (pat !== adminToken) return sendJson(res, 403, { error: 'You must be an admin to perform this action' });
        if (req.method === 'GET') return sendJson(res, 200, { workerGroups: registry.list() });
        const body = await jsonBody(req);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return sendJson(res, 400, { outcome: 'unknown error', error: 'Invalid request body' });
        }
        const b = body as Record<string, unknown>;
        const opt = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
        const name = opt('name') ?? `worker-group-${randomBytes(3).toString('hex')}`;
        const projectId = opt('projectId');
        const makeDefault = b['makeDefaultForProject'] === true && projectId !== undefined;
        const existing = registry.byName(name);
        if (existing) {
          if (!makeDefault) return sendJson(res, 400, { error: 'worker group already exists', workerGroup: existing });
          existing.defaultForProjects.push(projectId);
          return sendJson(res, 200, { outcome: 'set existing worker group as default for project', workerGroup: existing });
        }
        const created = registry.create({
          name,
          description: opt('description'),
          type: b['type'] === 'UNMANAGED' ? 'UNMANAGED' : 'MANAGED',
          hidden: b['hidden'] === true,
        });
        if (makeDefault) created.workerGroup.defaultForProjects.push(projectId);
        return sendJson(res, 200, {
          outcome: makeDefault ? 'set new worker group as default for project' : 'created new worker group',
          token: created.token,
          workerGroup: created.workerGroup,
        });
      }

      async function applyFault(res: ServerResponse, kind: FaultKind): Promise<boolean> {
        if ('latencyMs' in kind || 'hangMs' in kind) {
          await lifecycle.wait('latencyMs' in kind ? kind.latencyMs : kind.hangMs);
          return false;
        }
        if ('graphqlError' in kind) {
          sendJson(res, 500, { error: kind.graphqlError });
          return true;
        }
        const headers: Record<string, string> = kind.retryAfterSeconds !== undefined ? { 'retry-after': String(kind.retryAfterSeconds) } : {};
        sendJson(res, kind.status, { error: kind.message ?? STATUS_CODES[kind.status] ?? 'Error' }, headers);
        return true;
      }

      return {
        url,
        adminToken,
        userToken,
        faults,
        workerGroups: () => registry.list(),
        workerInstances: () => registry.instances(),
        close,
      };
    },
  };
}

function routeOf(method: string, path: string): WebappRoute | undefined {
  if (path === '/healthcheck' && method === 'GET') return 'healthcheck';
  if (path === '/admin/api/v1/workers' && (method === 'GET' || method === 'POST')) return 'admin.workers';
  if (method !== 'POST') return undefined;
  if (path === '/engine/v1/worker-actions/connect') return 'connect';
  if (path === '/engine/v1/worker-actions/heartbeat') return 'heartbeat';
  if (path === '/engine/v1/worker-actions/dequeue') return 'dequeue';
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The parsed JSON body ({} when empty), or undefined when it is not JSON. */
async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
