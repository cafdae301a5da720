// The simulated Trigger.dev supervisor: the process a sandbox droplet's docker stand-in runs for a container of
// ghcr.io/triggerdotdev/supervisor. It behaves like apps/supervisor as the controller sees it: /health on the
// workload port first, then connect to the platform with the worker token and managed secret (exit 1 on failure,
// so the restart policy makes a crash loop), then heartbeats and a dequeue long-poll loop.
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseSupervisorEnv } from '../../vendor/trigger/v4.5.12/supervisor-env';

const env = process.env;

function log(level: 'info' | 'warn' | 'error' | 'debug', message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ timestamp: new Date().toISOString(), level, message, $name: 'supervisor', ...fields });
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
}

// The real supervisor's own schema (v4.5.12 env.ts): an environment it would refuse at start stops this one too.
const parsed = parseSupervisorEnv(env);
if (!parsed.success) {
  log('error', 'Invalid environment', { issues: parsed.issues });
  process.exit(1);
}
const config = parsed.data;

function readToken(raw: string): string {
  if (!raw.startsWith('file://')) return raw;
  // Paths of a file:// token are paths on the droplet: its disk, as a bind mount would show it to the container.
  return readFileSync(`${env['SANDBOX_DROPLET_ROOT'] ?? ''}${raw.slice('file://'.length)}`, 'utf8').trim();
}

const apiUrl = config.TRIGGER_API_URL.replace(/\/$/, '');
const token = readToken(config.TRIGGER_WORKER_TOKEN);
const secret = config.MANAGED_WORKER_SECRET;
const instanceName = config.TRIGGER_WORKER_INSTANCE_NAME;
const workerVersion = env['SANDBOX_WORKER_VERSION'] ?? '0.0.0';
// The workload API (port TRIGGER_WORKLOAD_API_PORT_INTERNAL in the container) is published nowhere: in the sandbox it
// is a unix socket the droplet's docker daemon gives the container, so no TCP port of the host carries it.
const workloadSocket = env['SANDBOX_WORKLOAD_SOCKET'];
if (!workloadSocket) {
  log('error', 'SANDBOX_WORKLOAD_SOCKET is not set (the sandbox docker daemon sets it)');
  process.exit(1);
}
const port = Number(env['TRIGGER_WORKLOAD_API_PORT_INTERNAL'] ?? '8020');
const heartbeatMs =
  Number(env['SANDBOX_HEARTBEAT_INTERVAL_MS'] ?? '') ||
  Number(env['TRIGGER_WORKER_HEARTBEAT_INTERVAL_SECONDS'] ?? '30') * 1000;
const idleMs = Number(env['TRIGGER_DEQUEUE_IDLE_INTERVAL_MS'] ?? '1000');
// When the session is established (epoch ms): the container's start plus a start-up time the sandbox draws per start.
const connectAt = Number(env['SANDBOX_CONNECT_AT_MS'] ?? '0') || 0;

const headers = {
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  'x-trigger-worker-instance-name': instanceName,
  'x-trigger-worker-managed-secret': secret,
};

async function post(path: string, body: unknown, timeoutMs = 15_000): Promise<Response> {
  return fetch(`${apiUrl}/engine/v1/worker-actions/${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

const counters = { connect: 0, heartbeat: 0, dequeue: 0 };
const health = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  } else if (req.url === '/metrics') {
    const lines = Object.entries(counters).map(
      ([name, n]) => `supervisor_outbound_request_total{name="${name === 'heartbeat' ? 'heartbeat_worker' : name}",outcome="ok"} ${n}`,
    );
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${lines.join('\n')}\n`);
  } else {
    res.writeHead(404).end();
  }
});
health.on('error', (err) => {
  log('error', 'Workload API server error', { error: err.message });
  process.exit(1);
});

async function connectToPlatform(): Promise<void> {
  let response: Response;
  try {
    response = await post('connect', { metadata: { workerVersion, hostname: instanceName } });
  } catch (err) {
    log('error', 'Failed to connect', { error: err instanceof Error ? err.message : String(err) });
    log('error', '[SupervisorSession] Failed to connect');
    process.exit(1);
  }
  if (!response.ok) {
    log('error', 'Failed to connect', { status: response.status, body: await response.text() });
    log('error', '[SupervisorSession] Failed to connect');
    process.exit(1);
  }
  counters.connect++;
  const body = (await response.json().catch(() => ({}))) as { workerGroup?: unknown };
  log('info', 'Connected to platform', { workerGroup: body.workerGroup ?? null });
  log('info', 'Queue consumer enabled');
}

function startHeartbeats(): void {
  setInterval(() => {
    post('heartbeat', { cpu: { used: 0, available: 1 }, memory: { used: 0, available: 1 }, tasks: [] }).then(
      (res) => (res.ok ? counters.heartbeat++ : log('error', 'Heartbeat failed', { status: res.status })),
      (err: unknown) => log('error', 'Heartbeat failed', { error: err instanceof Error ? err.message : String(err) }),
    );
  }, heartbeatMs);
}

async function dequeueLoop(): Promise<void> {
  for (;;) {
    try {
      const res = await post('dequeue', { maxRunCount: 1, maxResources: { cpu: 1, memory: 1 } }, 30_000);
      if (res.ok) counters.dequeue++;
      else log('error', 'Failed to dequeue', { status: res.status });
      await res.text();
    } catch (err) {
      log('error', 'Failed to dequeue', { error: err instanceof Error ? err.message : String(err) });
    }
    await new Promise((resolve) => setTimeout(resolve, idleMs));
  }
}

rmSync(workloadSocket, { force: true });
mkdirSync(dirname(workloadSocket), { recursive: true });
health.listen(workloadSocket, () => {
  log('info', 'Workload API listening', { port, workerVersion, instanceName });
  new Promise((resolve) => setTimeout(resolve, Math.max(0, connectAt - Date.now()))).then(connectToPlatform).then(() => {
    startHeartbeats();
    void dequeueLoop();
  }, () => process.exit(1));
});
