import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nullDropletHosts, type DropletHostDriver } from '../contracts';
import { listenHttpsOnly } from '../https';
import { createSandboxTls, type SandboxTls } from '../tls';
import { ApiError } from './api-error';
import { DROPLET_BOOT, DROPLET_LIST_LAG, FaultQueue, type DigitalOceanFaults } from './faults';
import { HANDLERS, type HandlerContext } from './handlers';
import { digitalOceanSpec } from './openapi';
import { RateLimiter, type RateLimitOptions } from './rate-limit';
import type { Delay } from '../timings';
import { DigitalOceanState, type ActionRecord, type CreateDropletInput, type SshKeyRecord } from './state';
import type { Utilization } from './metrics';
import { firewallView } from './views';

export interface DigitalOceanApiOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Bearer tokens the API accepts; one random token when left out. */
  readonly tokens?: readonly string[];
  /** Makes droplets real; addresses only (nullDropletHosts) by default. */
  readonly hosts?: DropletHostDriver;
  /** How long a create takes before the droplet is active (at least as long as hosts.create). Default 300 ms. */
  readonly bootDelayMs?: Delay;
  /** How long a droplet action takes (at least as long as its host call). Default 300 ms. */
  readonly actionDelayMs?: Delay;
  /** Check every response body against the spec; a violation becomes a 500 and is recorded. Default true. */
  readonly validateResponses?: boolean;
  /** Per-token limits; DigitalOcean's 250/minute and 5,000/hour by default. */
  readonly rateLimit?: RateLimitOptions;
  /** The certificate it serves HTTPS with (ensureSandboxTls); a CA of its own, in memory only, by default. */
  readonly tls?: SandboxTls;
}

export interface DropletSnapshot {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly locked: boolean;
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly tags: readonly string[];
  readonly ipv4: string | undefined;
  readonly userData: string | undefined;
  readonly sshPublicKeys: readonly string[];
}

export interface DigitalOceanInspection {
  readonly droplets: readonly DropletSnapshot[];
  /** Firewalls as the API shows them, plus the droplets each one protects (by id or by tag). */
  readonly firewalls: readonly (Record<string, unknown> & { readonly appliesToDropletIds: readonly number[] })[];
  readonly sshKeys: readonly SshKeyRecord[];
  readonly tags: readonly string[];
  readonly actions: readonly ActionRecord[];
  /** Requests that reached an operation, by operationId (faulted and rejected ones included). */
  readonly callsByOperation: Readonly<Record<string, number>>;
  /** Responses that did not match the spec (each was answered with a 500). Tests expect none. */
  readonly validationErrors: readonly string[];
  /**
   * What requests carried that the real API ignores, and so did the stand-in: unknown query parameters and body
   * fields, a body where the operation takes none. Our own client's tests expect none (a typo would be lost).
   */
  readonly ignoredRequestParts: readonly string[];
  /** Handler crashes and host-driver failures. Tests expect none unless they inject them. */
  readonly internalErrors: readonly string[];
}

export interface DigitalOceanSandbox {
  /** Base URL without /v2, e.g. https://127.0.0.1:PORT (what DIGITALOCEAN_API_URL takes). HTTPS only, as the real API. */
  readonly url: string;
  /** The CA that signed its certificate (PEM): what a client must trust (TRIGGER_OPS_CA_CERTS names its file). */
  readonly ca: string;
  /** Where that CA is on disk, when it was given one kept in a directory. */
  readonly caPath: string | undefined;
  /** The first accepted token. */
  readonly token: string;
  readonly faults: DigitalOceanFaults;
  inspect(): DigitalOceanInspection;
  /** How busy a droplet looks in its monitoring metrics (0–1 each); droplets idle otherwise. */
  setUtilization(dropletId: number, utilization: Utilization): void;
  /**
   * A pre-made droplet (the scale bench seeds thousands): created as POST /v2/droplets would create it (same checks,
   * same host driver), without a request, so it neither counts against the rate limit nor waits for one. Resolves
   * once it is active.
   */
  seedDroplet(input: CreateDropletInput): Promise<{ readonly id: number; readonly ipv4: string }>;
  /** Requests answered since start, by token limit: cheap to read while thousands of droplets exist. */
  requestCounts(): { readonly answered: number; readonly rateLimited: number };
  /** Stops listening, ends open connections and timers; leaves nothing running. */
  close(): Promise<void>;
}

interface Outgoing {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Starts the DigitalOcean API v2 stand-in on its own HTTPS server (plain HTTP is refused, as by the real API). */
export async function startDigitalOceanApi(options: DigitalOceanApiOptions = {}): Promise<DigitalOceanSandbox> {
  const spec = digitalOceanSpec();
  const tokens = options.tokens && options.tokens.length > 0 ? [...options.tokens] : [`dop_v1_sandbox_${randomBytes(16).toString('hex')}`];
  const state = new DigitalOceanState({
    hosts: options.hosts ?? nullDropletHosts(),
    bootDelayMs: options.bootDelayMs ?? 300,
    actionDelayMs: options.actionDelayMs ?? 300,
  });
  const validateResponses = options.validateResponses ?? true;
  const limiter = new RateLimiter(options.rateLimit);
  const faults = new FaultQueue();
  const calls = new Map<string, number>();
  let rateLimited = 0;
  const validationErrors: string[] = [];
  const internalErrors: string[] = [];
  const ignoredRequestParts: string[] = [];
  const waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let baseUrl = '';

  /** A delay that close() cuts short, so an injected hang never outlives the stand-in. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          waits.delete(entry);
          resolve();
        }, ms),
      };
      waits.add(entry);
    });

  async function handle(req: IncomingMessage, requestId: string): Promise<Outgoing> {
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const method = (req.method ?? 'GET').toUpperCase();
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    if (!auth || !tokens.includes(auth)) return { status: 401, body: errorBody(new ApiError(401), requestId) };

    const verdict = limiter.take(auth);
    const limitHeaders = verdict.headers;
    if (!verdict.allowed) {
      rateLimited += 1;
      const headers = verdict.retryAfterSeconds === undefined ? limitHeaders : { ...limitHeaders, 'retry-after': String(verdict.retryAfterSeconds) };
      return { status: 429, body: errorBody(new ApiError(429), requestId), headers };
    }
    const reply = async (): Promise<Outgoing> => {
      const route = spec.match(method, url.pathname);
      // As on the real API: a path it does not serve is 404, whatever the method.
      if (!route) throw new ApiError(404);
      const operationId = route.operation.operationId;
      calls.set(operationId, (calls.get(operationId) ?? 0) + 1);

      const raw = await readBody(req);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw) as unknown;
        } catch {
          throw new ApiError(400, 'request body: is not valid JSON');
        }
      }
      const fault = faults.take(operationId);
      if (fault && 'hangMs' in fault) await wait(fault.hangMs);
      if (fault && 'latencyMs' in fault) await wait(fault.latencyMs);
      if (fault && 'status' in fault) throw new ApiError(fault.status, fault.message, fault.retryAfterSeconds);
      const check = spec.validateRequest(operationId, {
        pathParams: route.pathParams,
        query: Object.fromEntries(url.searchParams),
        body,
      });
      if (!check.ok) throw new ApiError(422, check.message);
      for (const part of check.ignored) ignoredRequestParts.push(`${method} ${url.pathname}: ${part}`);
      const handler = HANDLERS[operationId];
      if (!handler) throw new ApiError(422, `the sandbox does not implement ${method} ${route.operation.pathTemplate}`);
      const ctx: HandlerContext = {
        pathParams: check.pathParams,
        query: check.query,
        body: check.body,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
        baseUrl,
        bootFails: () => {
          const boot = faults.take(DROPLET_BOOT);
          return boot !== undefined && 'status' in boot;
        },
        listLagMs: () => {
          const lag = faults.take(DROPLET_LIST_LAG);
          return lag !== undefined && 'latencyMs' in lag ? lag.latencyMs : 0;
        },
      };
      const result = handler(state, ctx);
      return { status: result.status, body: result.body };
    };

    let out: Outgoing;
    try {
      out = await reply();
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(500);
      if (!(err instanceof ApiError)) internalErrors.push(`${method} ${url.pathname}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      const headers = error.retryAfterSeconds === undefined ? limitHeaders : { ...limitHeaders, 'retry-after': String(error.retryAfterSeconds) };
      out = { status: error.status, body: errorBody(error, requestId), headers };
    }
    out = { ...out, headers: { ...limitHeaders, ...out.headers } };

    const route = spec.match(method, url.pathname);
    if (validateResponses && route) {
      const problem = spec.validateResponse(route.operation.operationId, out.status, out.body);
      if (problem) {
        validationErrors.push(`${method} ${url.pathname} → ${out.status}: ${problem}`);
        const error = new ApiError(500, `response failed spec validation: ${problem}`);
        out = { status: 500, body: errorBody(error, requestId), headers: out.headers ?? {} };
      }
    }
    return out;
  }

  const tls = options.tls ?? createSandboxTls();
  const server = await listenHttpsOnly(
    tls,
    (req, res) => {
      const requestId = randomUUID();
      handle(req, requestId).then(
        (out) => send(res, out, requestId),
        (err: unknown) => {
          internalErrors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
          send(res, { status: 500, body: errorBody(new ApiError(500), requestId) }, requestId);
        },
      );
    },
    { ...(options.port !== undefined ? { port: options.port } : {}), ...(options.host !== undefined ? { host: options.host } : {}) },
  );
  baseUrl = server.origin;

  return {
    url: baseUrl,
    ca: tls.ca,
    caPath: tls.caPath,
    token: tokens[0] ?? '',
    faults,
    setUtilization: (dropletId, utilization) => void state.utilization.set(dropletId, utilization),
    async seedDroplet(input) {
      const { droplet } = state.createDroplet(input, { bootFails: false, listLagMs: 0 });
      while (droplet.status !== 'active' || droplet.ipv4 === undefined) {
        if (!state.droplets.has(droplet.id)) throw new Error(`seeded droplet ${droplet.name} did not come up: ${state.hostErrors.at(-1) ?? 'deleted'}`);
        await wait(10);
      }
      return { id: droplet.id, ipv4: droplet.ipv4 };
    },
    requestCounts: () => ({ answered: [...calls.values()].reduce((a, n) => a + n, 0), rateLimited }),
    inspect: () => ({
      droplets: [...state.droplets.values()].map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        locked: d.locked,
        region: d.region,
        size: d.size,
        image: d.image.slug,
        tags: [...d.tags],
        ipv4: d.ipv4,
        userData: d.userData,
        sshPublicKeys: d.sshPublicKeys,
      })),
      firewalls: [...state.firewalls.values()].map((f) => ({ ...firewallView(f), appliesToDropletIds: state.firewallAppliesTo(f) })),
      sshKeys: [...state.sshKeys.values()],
      tags: [...state.tags],
      actions: [...state.actions.values()].map((a) => ({ ...a })),
      callsByOperation: Object.fromEntries(calls),
      validationErrors: [...validationErrors],
      ignoredRequestParts: [...ignoredRequestParts],
      internalErrors: [...internalErrors, ...state.hostErrors],
    }),
    async close() {
      for (const { timer, resolve } of waits) {
        clearTimeout(timer);
        resolve();
      }
      waits.clear();
      await Promise.all([server.close(), state.close()]);
    },
  };
}

function errorBody(error: ApiError, requestId: string): Record<string, string> {
  return { id: error.id, message: error.message, request_id: requestId };
}

function send(res: ServerResponse, out: Outgoing, requestId: string): void {
  if (res.destroyed || res.writableEnded) return;
  const headers: Record<string, string> = { ...out.headers, 'x-request-id': requestId };
  if (out.body === undefined) {
    res.writeHead(out.status, headers).end();
    return;
  }
  const text = JSON.stringify(out.body);
  res
    .writeHead(out.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) })
    .end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(400, 'request body: larger than 1 MiB'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
