import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FaultKind } from '../contracts';
import type { DeploymentRecord, RailwayStore } from '../railway';
import { createFaultQueue, type Faults } from '../railway/faults';
import { createServerLifecycle, listen, readBody, sendJson, sendText } from '../railway/http-util';
import { delayMs, type Delay } from '../timings';
import { bootWebapp, DEFAULT_MANAGED_WORKER_SECRET } from './boot';
import { magicLinkEmail, mailerFor, newMagicToken, type MailEndpoints, type Mailer } from './email';
import { WorkerGroupRegistry, type WorkerGroup, type WorkerInstance } from './worker-groups';

export type { WorkerGroup, WorkerInstance } from './worker-groups';

/** Route names for `faults.failNext` (a request path works too). */
export type WebappRoute = 'healthcheck' | 'connect' | 'heartbeat' | 'dequeue' | 'admin.workers' | 'login.magic' | 'magic' | 'boot';

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
  /** Where the webapp's mail transports send (the Resend stand-in's URL). */
  readonly mail?: MailEndpoints;
  /**
   * Magic links one address may request per window (LOGIN_RATE_LIMITS_ENABLED): default 3 per minute. The real
   * limiter's figures live in magicLinkRateLimiter.server.ts, which the v4.5.12 sources here do not include.
   */
  readonly magicLinkRateLimit?: { readonly perAddress: number; readonly windowMs: number };
}

/** A magic link the webapp issued; only the newest one of an address logs in (remix-auth-email-link). */
export interface IssuedMagicLink {
  readonly email: string;
  readonly token: string;
  readonly issuedAt: Date;
  /** When it was followed: a link works once. */
  usedAt?: Date;
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
  /** Every magic link issued, oldest first. */
  magicLinks(): IssuedMagicLink[];
  /** Sessions opened by following a magic link: the addresses that logged in. */
  logins(): string[];
  /** `faults.failNext('boot', 1, …)` crashes the next deployment's start. */
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

      const rateLimit = opts.magicLinkRateLimit ?? { perAddress: 3, windowMs: 60_000 };
      const issued: IssuedMagicLink[] = [];
      const requests = new Map<string, number[]>();
      const logins: string[] = [];
      const mailers = new Map<string, Mailer>();
      const mailer = (d: DeploymentRecord) => {
        let m = mailers.get(d.id);
        if (!m) mailers.set(d.id, (m = mailerFor(d, opts.mail ?? {})));
        return m;
      };

      store.setBootHook(serviceId, (d) => {
        const fault = faults.take(['boot']);
        if (fault) return { crashed: true, logs: [`Error: container exited with code 1 (${'message' in fault.kind ? fault.kind.message ?? 'injected' : 'injected'})`] };
        return bootWebapp(d, registry);
      });
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
        if (route === 'login.magic') return loginMagic(req, res);
        if (route === 'magic') return followMagicLink(req, res);

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

      /** routes/login.magic/route.tsx's action: form `action=send`, `email=…`; always answers with a redirect. */
      async function loginMagic(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const deployment = store.activeDeployment(environmentId, serviceId);
        if (!deployment) return sendText(res, 503, 'Application failed to respond');
        const log = (line: string, severity: 'info' | 'warn' | 'error' = 'info') => store.appendLog(deployment.id, line, severity);
        const redirect = (location: string) => {
          res.writeHead(302, { location });
          res.end();
        };
        const form = new URLSearchParams(await readBody(req));
        const email = (form.get('email') ?? '').trim().toLowerCase();
        if (form.get('action') !== 'send' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return redirect('/login');
        const vars = deployment.variables;
        if (vars['LOGIN_RATE_LIMITS_ENABLED'] !== 'false' && vars['LOGIN_RATE_LIMITS_ENABLED'] !== '0') {
          const now = Date.now();
          const recent = (requests.get(email) ?? []).filter((t) => now - t < rateLimit.windowMs);
          if (recent.length >= rateLimit.perAddress) {
            log(JSON.stringify({ message: 'Login magic link rate limit exceeded', email, level: 'warn' }), 'warn');
            return redirect('/login');
          }
          requests.set(email, [...recent, now]);
        }
        const token = newMagicToken();
        const origin = (vars['APP_ORIGIN'] ?? url).replace(/\/+$/, '');
        const m = mailer(deployment);
        const message = magicLinkEmail(email, `${origin}/magic?token=${token}`);
        try {
          await m.send(message, (line) => log(line));
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          log(`Failed to send email to ${email}, ${message.subject}. Error ${e.name}: ${e.message}`, 'error');
          log(JSON.stringify({ message: 'Error sending magic link email', level: 'error', error: JSON.stringify({ name: e.name, message: e.message }) }), 'error');
          return redirect('/login');
        }
        issued.push({ email, token, issuedAt: new Date() });
        return redirect('/login/magic');
      }

      /** routes/magic.tsx: the newest unexpired link of an address opens a session; any other goes back to login. */
      function followMagicLink(req: IncomingMessage, res: ServerResponse): void {
        const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
        const link = issued.find((l) => l.token === token);
        const newest = link && [...issued].reverse().find((l) => l.email === link.email);
        const fresh = link && Date.now() - link.issuedAt.getTime() < 30 * 60 * 1000;
        if (!link || newest !== link || !fresh || link.usedAt) {
          res.writeHead(302, { location: '/login/magic' });
          res.end();
          return;
        }
        link.usedAt = new Date();
        logins.push(link.email);
        res.writeHead(302, { location: '/', 'set-cookie': `__session=${randomBytes(16).toString('hex')}; Path=/; HttpOnly; SameSite=Lax` });
        res.end();
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
        magicLinks: () => [...issued],
        logins: () => [...logins],
        close,
      };
    },
  };
}

function routeOf(method: string, path: string): WebappRoute | undefined {
  if (path === '/healthcheck' && method === 'GET') return 'healthcheck';
  if (path === '/admin/api/v1/workers' && (method === 'GET' || method === 'POST')) return 'admin.workers';
  if (path === '/magic' && method === 'GET') return 'magic';
  if (method !== 'POST') return undefined;
  if (path === '/login/magic') return 'login.magic';
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
