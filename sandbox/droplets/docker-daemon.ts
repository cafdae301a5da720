import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { SANDBOX_SUPERVISOR_IMAGE } from '../contracts';
import { pullRefusal } from '../registry';
import { Sleeps } from '../timings';
import type { CommandIo, CommandRequest } from './command-socket';
import type { RestartPolicy } from './compose';

export type ContainerState = 'created' | 'running' | 'restarting' | 'exited';
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface LogEntry {
  readonly time: Date;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface ContainerConfig {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly restart: RestartPolicy;
  readonly healthcheck: boolean;
  readonly project: string | undefined;
  readonly service: string | undefined;
  readonly recorded: Readonly<Record<string, unknown>>;
}

export interface Container {
  readonly id: string;
  readonly config: ContainerConfig;
  readonly configHash: string;
  readonly createdAt: Date;
  state: ContainerState;
  restartCount: number;
  exitCode: number;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  health: HealthStatus | undefined;
  failingStreak: number;
  /** The last health probes, oldest first (Docker keeps five): what `docker inspect` shows as State.Health.Log. */
  healthLog: { Start: string; End: string; ExitCode: number; Output: string }[];
  /** Stopped by a user (docker stop / compose stop): `unless-stopped` leaves it down across daemon restarts. */
  manuallyStopped: boolean;
  stopping: boolean;
  backoffMs: number;
  process: ChildProcess | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  readonly logs: LogEntry[];
}

export interface StartProcessOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export interface DockerDaemonOptions {
  /**
   * The unix socket a container's workload API listens on (the compose file publishes no port, so nothing outside
   * the droplet reaches it; the daemon's health probe does, as the container's own healthcheck would).
   */
  readonly workloadSocketPath: (containerId: string) => string;
  /** Image references the sandbox registry serves (normalised, with tag). */
  readonly registry: ReadonlySet<string>;
  /** workerVersion of a supervisor image reference (`…:v4.5.12` → `4.5.12`). */
  readonly workerVersionOf: (ref: string) => string;
  readonly restartBackoffMs: number;
  readonly restartBackoffMaxMs: number;
  readonly healthIntervalMs: number;
  readonly stopTimeoutMs: number;
  /** Starts the simulated supervisor as a tracked child of the droplet (its own process group). */
  readonly startSupervisor: (options: StartProcessOptions) => ChildProcess;
  /** Asked at each supervisor start (timings drawn per start, e.g. its delay before "Connected to platform"). */
  readonly extraSupervisorEnv: () => Readonly<Record<string, string>>;
  /** How long pulling one image that is not present takes; asked at the start of each such pull. */
  readonly pullDelayMs: () => number;
  readonly isDiskFull: () => boolean;
  /** Handles a docker CLI invocation (docker-cli.ts); injected to keep this file about state and life cycle. */
  readonly cli: (daemon: DockerDaemon, request: CommandRequest, io: CommandIo) => Promise<number>;
}

const MAX_LOG_ENTRIES = 5000;

export type PullResult = { readonly ok: true; readonly fresh: boolean } | { readonly ok: false; readonly error: string };

export function normaliseImage(ref: string): string {
  const lastSlash = ref.lastIndexOf('/');
  const hasTag = ref.slice(lastSlash + 1).includes(':') || ref.includes('@');
  return hasTag ? ref : `${ref}:latest`;
}

export function imageId(ref: string): string {
  return `sha256:${createHash('sha256').update(normaliseImage(ref)).digest('hex')}`;
}

export function isSupervisorImage(ref: string): boolean {
  return normaliseImage(ref).startsWith(`${SANDBOX_SUPERVISOR_IMAGE}:`);
}

function hashConfig(config: ContainerConfig): string {
  return createHash('sha256')
    .update(JSON.stringify([normaliseImage(config.image), config.env, config.restart, config.healthcheck]))
    .digest('hex');
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * A droplet's Docker daemon, living in the sandbox process: containers (with restart policies, backoff and
 * health), pulled images and logs. The droplet's `docker` reaches it through the droplet's command socket; while the
 * daemon is stopped the CLI cannot connect and says so, like the real one.
 */
export class DockerDaemon {
  readonly containers = new Map<string, Container>();
  readonly images = new Map<string, { readonly id: string; readonly pulledAt: Date }>();
  private started = false;
  private healthTimer: NodeJS.Timeout | undefined;
  /** Pulls under way, by image: a second pull of the same image waits for the first, as dockerd does. */
  private readonly pulls = new Map<string, Promise<PullResult>>();
  private readonly sleeps = new Sleeps();
  /** Changes whenever the daemon stops or the disk is wiped: a pull that spans it fails. */
  private epoch = 0;

  constructor(private readonly options: DockerDaemonOptions) {}

  get running(): boolean {
    return this.started;
  }

  /** A `docker …` invocation from inside the droplet. */
  handle(request: CommandRequest, io: CommandIo): Promise<number> {
    if (!this.started) {
      io.err('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n');
      return Promise.resolve(1);
    }
    return this.options.cli(this, request, io);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.healthTimer = setInterval(() => void this.probeHealth(), this.options.healthIntervalMs);
    this.healthTimer.unref();
    for (const c of this.containers.values()) {
      const policy = c.config.restart;
      if (policy === 'always' || (policy === 'unless-stopped' && !c.manuallyStopped)) this.startContainer(c);
    }
  }

  /** Stops the daemon: every container dies with it (`graceful` = SIGTERM first, as on shutdown). */
  async stop(graceful: boolean): Promise<void> {
    this.epoch++;
    this.sleeps.cutShort();
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.started = false;
    await Promise.all([...this.containers.values()].map((c) => this.halt(c, graceful, false)));
  }

  /** Forgets everything (a rebuilt disk). */
  wipe(): void {
    this.epoch++;
    this.sleeps.cutShort();
    for (const c of this.containers.values()) this.killNow(c);
    this.containers.clear();
    this.images.clear();
  }

  /** Images being pulled now (a pull whose client went away goes on, as dockerd's does). */
  get pulling(): string[] {
    return [...this.pulls.keys()];
  }

  /** Pulls an image: instant when present, else it takes the drawn pull duration (per image, like a download). */
  pull(ref: string): Promise<PullResult> {
    const image = normaliseImage(ref);
    const refused = pullRefusal(image, this.options.registry);
    if (refused) return Promise.resolve({ ok: false, error: refused });
    if (this.images.has(image)) return Promise.resolve({ ok: true, fresh: false });
    const pending = this.pulls.get(image);
    if (pending) return pending;
    if (this.options.isDiskFull()) {
      return Promise.resolve({ ok: false, error: `failed to register layer: write /var/lib/docker/overlay2: no space left on device` });
    }
    const epoch = this.epoch;
    const pulling = this.sleeps.sleep(this.options.pullDelayMs()).then((): PullResult => {
      if (epoch !== this.epoch) return { ok: false, error: `error pulling image ${image}: context canceled` };
      this.images.set(image, { id: imageId(image), pulledAt: new Date() });
      return { ok: true, fresh: true };
    });
    this.pulls.set(image, pulling);
    void pulling.finally(() => this.pulls.delete(image));
    return pulling;
  }

  create(config: ContainerConfig): Container {
    const existing = this.containers.get(config.name);
    if (existing) this.remove(existing);
    const container: Container = {
      id: randomBytes(32).toString('hex'),
      config,
      configHash: hashConfig(config),
      createdAt: new Date(),
      state: 'created',
      restartCount: 0,
      exitCode: 0,
      startedAt: undefined,
      finishedAt: undefined,
      health: undefined,
      failingStreak: 0,
      healthLog: [],
      manuallyStopped: false,
      stopping: false,
      backoffMs: this.options.restartBackoffMs,
      process: undefined,
      restartTimer: undefined,
      logs: [],
    };
    this.containers.set(config.name, container);
    return container;
  }

  hashOf(config: ContainerConfig): string {
    return hashConfig(config);
  }

  find(nameOrId: string): Container | undefined {
    const name = nameOrId.replace(/^\//, '');
    const byName = this.containers.get(name);
    if (byName) return byName;
    if (name.length < 4) return undefined;
    return [...this.containers.values()].find((c) => c.id.startsWith(name));
  }

  remove(container: Container): void {
    this.killNow(container);
    this.containers.delete(container.config.name);
  }

  startContainer(c: Container): void {
    if (c.process || c.state === 'running') return;
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    c.state = 'running';
    c.stopping = false;
    c.manuallyStopped = false;
    c.startedAt = new Date();
    c.health = c.config.healthcheck ? 'starting' : undefined;
    c.failingStreak = 0;
    if (!isSupervisorImage(c.config.image)) {
      this.log(c, 'stdout', `${c.config.image} started`);
      return;
    }
    const child = this.options.startSupervisor({
      cwd: '/',
      env: {
        ...c.config.env,
        ...this.options.extraSupervisorEnv(),
        HOSTNAME: c.id.slice(0, 12),
        SANDBOX_WORKLOAD_SOCKET: this.options.workloadSocketPath(c.id),
        SANDBOX_WORKER_VERSION: this.options.workerVersionOf(c.config.image),
      },
    });
    c.process = child;
    const capture = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      return (chunk: Buffer) => {
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.log(c, stream, line);
      };
    };
    child.stdout?.on('data', capture('stdout'));
    child.stderr?.on('data', capture('stderr'));
    child.on('exit', (code, signal) => this.onExit(c, child, code ?? 128 + (SIGNALS[signal ?? ''] ?? 9)));
  }

  private onExit(c: Container, child: ChildProcess, exitCode: number): void {
    if (c.process !== child) return;
    c.process = undefined;
    c.exitCode = exitCode;
    c.finishedAt = new Date();
    c.health = c.config.healthcheck ? 'unhealthy' : undefined;
    const policy = c.config.restart;
    const restart =
      !c.stopping &&
      this.running &&
      (policy === 'always' || policy === 'unless-stopped' || (policy === 'on-failure' && exitCode !== 0));
    if (!restart) {
      c.state = 'exited';
      return;
    }
    // Docker doubles the delay between restarts and resets it once a container has run for 10 s.
    const ranMs = c.finishedAt.getTime() - (c.startedAt?.getTime() ?? 0);
    if (ranMs >= 10_000) c.backoffMs = this.options.restartBackoffMs;
    const delay = c.backoffMs;
    c.backoffMs = Math.min(c.backoffMs * 2, this.options.restartBackoffMaxMs);
    c.state = 'restarting';
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (c.state !== 'restarting' || !this.running) return;
      c.restartCount++;
      c.state = 'exited';
      this.startContainer(c);
    }, delay);
  }

  /** docker stop: SIGTERM, then SIGKILL after the stop timeout. */
  async stopContainer(c: Container): Promise<void> {
    c.manuallyStopped = true;
    await this.halt(c, true, true);
  }

  async restartContainer(c: Container): Promise<void> {
    await this.halt(c, true, true);
    c.backoffMs = this.options.restartBackoffMs;
    this.startContainer(c);
  }

  private async halt(c: Container, graceful: boolean, byUser: boolean): Promise<void> {
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    const child = c.process;
    if (!child) {
      if (c.state === 'running' || c.state === 'restarting') {
        c.state = 'exited';
        c.exitCode = byUser || graceful ? 0 : 255;
        c.finishedAt = new Date();
      }
      return;
    }
    c.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child, graceful ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceful ? this.options.stopTimeoutMs : 0);
    await exited;
    clearTimeout(timer);
    c.state = 'exited';
    if (!byUser) c.stopping = false;
  }

  private killNow(c: Container): void {
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    c.stopping = true;
    if (c.process) signalGroup(c.process, 'SIGKILL');
    c.process = undefined;
    c.state = 'exited';
  }

  /** Fault: the supervisor process dies as if OOM-killed; its restart policy decides what happens next. */
  killSupervisors(): number {
    let killed = 0;
    for (const c of this.containers.values()) {
      if (c.process && isSupervisorImage(c.config.image)) {
        signalGroup(c.process, 'SIGKILL');
        killed++;
      }
    }
    return killed;
  }

  log(c: Container, stream: 'stdout' | 'stderr', text: string): void {
    c.logs.push({ time: new Date(), stream, text });
    if (c.logs.length > MAX_LOG_ENTRIES) c.logs.splice(0, c.logs.length - MAX_LOG_ENTRIES);
  }

  private async probeHealth(): Promise<void> {
    for (const c of this.containers.values()) {
      if (c.state !== 'running' || !c.config.healthcheck) continue;
      let ok = true;
      const start = new Date();
      if (isSupervisorImage(c.config.image)) {
        ok = await probeWorkload(this.options.workloadSocketPath(c.id));
      }
      if (c.state !== 'running') continue;
      c.healthLog = [
        ...c.healthLog.slice(-4),
        { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: ok ? 0 : 1, Output: ok ? 'ok\n' : 'health check failed: the workload API did not answer\n' },
      ];
      if (ok) {
        c.health = 'healthy';
        c.failingStreak = 0;
      } else if (++c.failingStreak >= 3) {
        c.health = 'unhealthy';
      }
    }
  }
}

/** GET /health on a workload socket: true on 200 within a second. */
export function probeWorkload(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ socketPath, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
