import { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import { errorTypeForStatus, WebappApiError } from './errors';
import { BOUNDS } from '../../shared/activity-contract';
import { meterExternalCall } from '../call-meter';

/** The instance name the credential probe heartbeats as; the webapp keeps one WorkerInstance row for it. */
export const PROBE_INSTANCE_NAME = 'trigger-ops-probe';

export interface WebappClientOptions {
  /** The webapp's public origin, e.g. https://trigger.example.com */
  readonly baseUrl: string;
  /** Personal access token of an admin user (`tr_pat_…`), for the admin API. */
  readonly adminToken?: string | undefined;
  /** Per request; default 15 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export interface WorkerGroupSummary {
  readonly id: string;
  readonly name: string;
  readonly type: string;
}

export type CreateWorkerGroupResult =
  | { readonly outcome: 'created'; readonly token: string; readonly workerGroup: WorkerGroupSummary }
  /** A group of that name exists: the webapp never shows its token again. */
  | { readonly outcome: 'exists'; readonly workerGroup: WorkerGroupSummary | undefined };

export interface WebappClient {
  /**
   * The login form's action (POST /login/magic, `action=send`, `email=…`). The webapp answers with a redirect
   * either way: to /login/magic when it sent the link, back to /login (with the error in its session) when it did
   * not (rate limited, sending failed, a bad address).
   */
  requestMagicLink(email: string): Promise<{ readonly sent: boolean; readonly status: number }>;
  /** GET /healthcheck: healthy only on 200. Never throws. */
  healthcheck(): Promise<{ readonly healthy: boolean; readonly status: number | undefined }>;
  /**
   * Whether the webapp accepts a worker token and managed secret, by sending one heartbeat as `trigger-ops-probe`
   * (never /dequeue, which would take real runs). 401 → not accepted; other failures throw.
   */
  probeWorkerCredentials(credentials: { readonly workerToken: string; readonly managedWorkerSecret: string }): Promise<{
    readonly accepted: boolean;
    readonly status: number;
  }>;
  listWorkerGroups(): Promise<WorkerGroupSummary[]>;
  /** POST /admin/api/v1/workers. The token in the answer is shown once: store it before anything else. */
  createWorkerGroup(input: {
    readonly name: string;
    readonly description?: string;
    readonly projectId?: string;
    readonly makeDefaultForProject?: boolean;
  }): Promise<CreateWorkerGroupResult>;
}

const groupSchema = z.object({ id: z.string(), name: z.string(), type: z.string() });
const createdSchema = z.object({ token: z.object({ plaintext: z.string().startsWith('tr_wgt_') }), workerGroup: groupSchema });
const existsSchema = z.object({ error: z.string(), workerGroup: groupSchema.optional() });
const listSchema = z.object({ workerGroups: z.array(groupSchema) });

export function createWebappClient(options: WebappClientOptions): WebappClient {
  const timeoutMs = options.timeoutMs ?? BOUNDS.webappRequestMs;
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  async function send(operation: string, path: string, init: RequestInit): Promise<Response> {
    try {
      return await meterExternalCall('webapp', () => doFetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) }));
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      const what =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${timeoutMs} ms`
          : `could not connect (${codeOf(err) ?? 'network error'})`;
      throw new WebappApiError(operation, ErrorType.Unavailable, `Trigger.dev webapp ${operation} at ${base}: ${what}`);
    }
  }

  async function fail(operation: string, res: Response): Promise<never> {
    const body = await res.text().catch(() => '');
    let detail = '';
    try {
      const parsed = JSON.parse(body) as { error?: unknown };
      if (typeof parsed.error === 'string') detail = `: ${parsed.error}`;
    } catch {
      // Not JSON (an edge proxy's page): the status says enough.
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new WebappApiError(operation, errorTypeForStatus(res.status), `Trigger.dev webapp ${operation}: HTTP ${res.status}${detail}`, {
      status: res.status,
      ...(Number.isFinite(retryAfter) && res.headers.has('retry-after') && { retryAfterSeconds: retryAfter }),
    });
  }

  function adminHeaders(operation: string): Record<string, string> {
    if (!options.adminToken) {
      throw new WebappApiError(operation, ErrorType.ConfigError, 'TRIGGER_ADMIN_TOKEN is not set: the admin API needs a personal access token (tr_pat_…) of an admin user.');
    }
    return { authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json', accept: 'application/json' };
  }

  async function json(operation: string, res: Response): Promise<unknown> {
    try {
      return await res.json();
    } catch {
      throw new WebappApiError(operation, ErrorType.Unavailable, `Trigger.dev webapp ${operation}: answer is not JSON`, { status: res.status });
    }
  }

  return {
    async requestMagicLink(email) {
      const res = await send('requestMagicLink', '/login/magic', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ action: 'send', email }).toString(),
        redirect: 'manual',
      });
      await res.arrayBuffer();
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location') ?? '/', base).pathname;
        return { sent: location === '/login/magic', status: res.status };
      }
      return fail('requestMagicLink', res);
    },
    async healthcheck() {
      try {
        const res = await send('healthcheck', '/healthcheck', { method: 'GET' });
        await res.arrayBuffer();
        return { healthy: res.status === 200, status: res.status };
      } catch {
        return { healthy: false, status: undefined };
      }
    },
    async probeWorkerCredentials({ workerToken, managedWorkerSecret }) {
      const res = await send('probeWorkerCredentials', '/engine/v1/worker-actions/heartbeat', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${workerToken}`,
          'x-trigger-worker-instance-name': PROBE_INSTANCE_NAME,
          'x-trigger-worker-managed-secret': managedWorkerSecret,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ cpu: { used: 0, available: 0 }, memory: { used: 0, available: 0 }, tasks: [] }),
      });
      if (res.status === 200 || res.status === 401) {
        await res.arrayBuffer();
        return { accepted: res.status === 200, status: res.status };
      }
      return fail('probeWorkerCredentials', res);
    },
    async listWorkerGroups() {
      const headers = adminHeaders('listWorkerGroups');
      const res = await send('listWorkerGroups', '/admin/api/v1/workers', { method: 'GET', headers });
      if (!res.ok) return fail('listWorkerGroups', res);
      const parsed = listSchema.safeParse(await json('listWorkerGroups', res));
      if (!parsed.success) throw new WebappApiError('listWorkerGroups', ErrorType.Unavailable, 'Trigger.dev webapp listWorkerGroups: unexpected answer');
      return parsed.data.workerGroups.map(({ id, name, type }) => ({ id, name, type }));
    },
    async createWorkerGroup(input) {
      const headers = adminHeaders('createWorkerGroup');
      const res = await send('createWorkerGroup', '/admin/api/v1/workers', { method: 'POST', headers, body: JSON.stringify(input) });
      if (res.status === 400) {
        const body = await json('createWorkerGroup', res);
        const exists = existsSchema.safeParse(body);
        if (exists.success && exists.data.error === 'worker group already exists') {
          const g = exists.data.workerGroup;
          return { outcome: 'exists', workerGroup: g && { id: g.id, name: g.name, type: g.type } };
        }
        throw new WebappApiError('createWorkerGroup', ErrorType.Rejected, `Trigger.dev webapp createWorkerGroup: HTTP 400${exists.success ? `: ${exists.data.error}` : ''}`, { status: 400 });
      }
      if (!res.ok) return fail('createWorkerGroup', res);
      const parsed = createdSchema.safeParse(await json('createWorkerGroup', res));
      if (!parsed.success) throw new WebappApiError('createWorkerGroup', ErrorType.Unavailable, 'Trigger.dev webapp createWorkerGroup: answer has no worker token');
      const g = parsed.data.workerGroup;
      return { outcome: 'created', token: parsed.data.token.plaintext, workerGroup: { id: g.id, name: g.name, type: g.type } };
    },
  };
}

function codeOf(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
