import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemsFrom } from './problems';
import type { HealthProvider, StatusProvider } from './probes';
import { PAGE_CSP, renderLoginPage, renderStatusPage } from './status-page';

/**
 * The controller's HTTP side on $PORT:
 * - `GET /healthz`: the controller's own health, for Railway's healthcheckPath (200 / 503 with the reason), open;
 * - `GET /status`: the installation's status as JSON, with `Authorization: Bearer <admin token>` (401 otherwise);
 * - `GET /`: the status page once signed in, else the login form; `POST /login` (form field `token`) sets an
 *   HttpOnly, SameSite=Strict cookie holding an opaque session id (never the token), `POST /logout` ends it.
 * Tokens are compared in constant time, never accepted in a URL, and never logged.
 */
export interface ControllerHttpOptions {
  readonly port: number;
  /** Interface to listen on; default: every interface (Railway routes to the service's port from outside). */
  readonly host?: string;
  readonly adminToken: string;
  readonly health: HealthProvider;
  readonly status: StatusProvider;
  readonly log: (message: string) => void;
  /** How long a sign-in lasts; default 12 hours. */
  readonly sessionTtlSeconds?: number;
}

export interface ControllerHttp {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

export const SESSION_COOKIE = 'tops_session';
const MAX_SESSIONS = 100;
const MAX_FORM_BYTES = 4096;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export async function startControllerHttp(options: ControllerHttpOptions): Promise<ControllerHttp> {
  if (options.adminToken.length < 16) throw new Error('the admin token must be at least 16 characters (TRIGGER_OPS_ADMIN_TOKEN)');
  const tokenDigest = digest(options.adminToken);
  // Hashes of session ids: the map holds nothing that would open a session if it leaked.
  const sessions = new Map<string, number>();
  const ttlMs = (options.sessionTtlSeconds ?? 12 * 3600) * 1000;
  const { log } = options;

  // Equal-length digests, so the comparison takes the same time whatever the candidate is.
  const isAdminToken = (candidate: string) => timingSafeEqual(digest(candidate), tokenDigest);
  const refused = (where: string) => log(`http: ${where}: a wrong admin token was refused`);
  const sessionOf = (req: IncomingMessage): string | undefined => {
    const id = cookies(req)[SESSION_COOKIE];
    if (!id) return undefined;
    const key = digest(id).toString('hex');
    const expires = sessions.get(key);
    if (expires === undefined) return undefined;
    if (expires < Date.now()) {
      sessions.delete(key);
      return undefined;
    }
    return key;
  };
  const newSession = () => {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    for (const [key, expires] of sessions) if (expires < now) sessions.delete(key);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    sessions.set(digest(id).toString('hex'), now + ttlMs);
    return id;
  };

  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path === '/healthz') {
      if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: 'method-not-allowed', message: 'use GET /healthz' }, { Allow: 'GET, HEAD' });
      const health = await options.health().catch((err: unknown) => ({ healthy: false, reason: `the health check failed: ${messageOf(err)}` }));
      return sendJson(res, health.healthy ? 200 : 503, { status: health.healthy ? 'ok' : 'unhealthy', reason: health.reason });
    }
    if (path === '/status') {
      if (method !== 'GET') return sendJson(res, 405, { error: 'method-not-allowed', message: 'use GET /status' }, { Allow: 'GET' });
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !isAdminToken(bearer)) {
        if (bearer) refused('GET /status');
        return sendJson(
          res,
          401,
          { error: 'unauthorized', message: 'send the admin token (TRIGGER_OPS_ADMIN_TOKEN) as "Authorization: Bearer <token>"' },
          { 'WWW-Authenticate': 'Bearer realm="trigger-ops"' },
        );
      }
      const report = await options.status();
      return sendJson(res, report.status ? 200 : 503, { ...report, problems: problemsFrom(report, Date.now()) });
    }
    if (path === '/') {
      if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'use GET /', { Allow: 'GET, HEAD' });
      if (!sessionOf(req)) return sendHtml(res, 200, renderLoginPage());
      const report = await options.status();
      return sendHtml(res, 200, renderStatusPage(report, problemsFrom(report, Date.now())));
    }
    if (path === '/login') {
      if (method === 'GET') return redirect(res, '/');
      if (method !== 'POST') return sendText(res, 405, 'use POST /login', { Allow: 'GET, POST' });
      if (!sameOrigin(req)) return sendText(res, 403, 'the sign-in form must be posted from this site');
      const form = await readForm(req);
      if (form === undefined) return sendHtml(res, 400, renderLoginPage({ error: 'The sign-in form was not readable (application/x-www-form-urlencoded, at most 4 KiB).' }));
      const token = form.get('token')?.trim() ?? '';
      if (token === '') return sendHtml(res, 400, renderLoginPage({ error: 'Enter the admin token.' }));
      if (!isAdminToken(token)) {
        refused('POST /login');
        return sendHtml(res, 401, renderLoginPage({ error: 'That is not the admin token.' }));
      }
      log('http: signed in to the status page');
      return redirect(res, '/', sessionCookie(req, newSession(), ttlMs / 1000));
    }
    if (path === '/logout') {
      if (method !== 'POST') return sendText(res, 405, 'use POST /logout', { Allow: 'POST' });
      if (!sameOrigin(req)) return sendText(res, 403, 'sign out from this site');
      const key = sessionOf(req);
      if (key) sessions.delete(key);
      return redirect(res, '/', sessionCookie(req, '', 0));
    }
    return sendText(res, 404, 'not found: this controller serves /, /status and /healthz');
  };

  const server = createServer((req, res) => {
    routes(req, res).catch((err: unknown) => {
      log(`http: ${req.method ?? '?'} ${pathOf(req)} failed: ${messageOf(err)}`);
      if (!res.headersSent) sendText(res, 500, 'internal error; the controller log says why');
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = !options.host || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(`http: /healthz, /status and the status page on port ${port}`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: under it Chromium posts forms with `Origin: null`, which sameOrigin must refuse.
  'Referrer-Policy': 'same-origin',
} as const;

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { ...COMMON_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

function sendHtml(res: ServerResponse, code: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': PAGE_CSP,
    'X-Frame-Options': 'DENY',
    ...headers,
  });
  res.end(html);
}

function sendText(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

function redirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(303, { ...COMMON_HEADERS, Location: location, ...(cookie ? { 'Set-Cookie': cookie } : {}) });
  res.end();
}

/** Secure when the request came over HTTPS (Railway's edge sets X-Forwarded-Proto), so plain-HTTP localhost still works. */
function sessionCookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  const https = req.headers['x-forwarded-proto'] === 'https' || ('encrypted' in req.socket && req.socket.encrypted === true);
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', `Max-Age=${Math.floor(maxAgeSeconds)}`, 'HttpOnly', 'SameSite=Strict', ...(https ? ['Secure'] : [])].join('; ');
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A form posted from another site is refused (browsers send Origin on every POST). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) return undefined;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The path alone: a query string is never used, so it is never logged either. */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://controller').pathname;
  } catch {
    return '(unparsable path)';
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
