// Light droplets: what the scale bench (scripts/bench/scale.ts) seeds by the thousand. A full sandbox droplet
// (droplet.ts) is an isolated root with its own namespaces, a docker daemon and a simulated supervisor *process*
// (a Node process of ~60 MB, and a dozen processes per `agent status`: docker info/inspect/logs, df, grep, …), which
// 1,000 of cannot share two cores. A light droplet is a record in this process: its own loopback address with a
// real SSH server (the host key from its user data, publickey auth against the user data's authorized keys), the
// configuration installed on it (the same .env and compose file `apply` writes), and an in-process supervisor that
// really connects to the webapp with that configuration's token and managed secret and heartbeats. Its SSH sessions
// answer the two commands of a healthy heal check, `trigger-ops-agent status` and `docker version --format
// '{{json .Server}}'`, from that state in the agent's own JSON; any other command exits 127 and says so, so nothing
// that needs a full droplet (apply, upgrade, a repair) silently "succeeds" on a light one.
import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { agentStatusCommand, type AgentStatus } from '../../src/remote/agent-commands';
import { configHash } from '../../src/remote/compose';
import { dockerServerVersionCommand } from '../../src/remote/docker-version';
import { parseSupervisorEnv } from '../../vendor/trigger/v4.5.12/supervisor-env';
import type { DropletHostDriver, DropletSpec } from '../contracts';
import { authorizedKeysByUser, hostKeysFrom, readUserData } from './cloud-init';
import { loadComposeProject } from './compose';
import { isSupervisorImage } from './docker-daemon';
import { allocateLoopbackAddress } from './loopback';
import { DropletSshServer, type SessionProcess } from './ssh-server';

/** The agent version light droplets report: the one the agent script carries (src/remote/agent.sh). */
const AGENT_VERSION = '1.1.0';
const DOCKER_SERVER = { Version: '27.5.1', ApiVersion: '1.47', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' };
const CONTAINER = 'trigger-supervisor-1';
const DISK = { path: '/', totalBytes: 25 * 1024 ** 3, availableBytes: 20 * 1024 ** 3, freePercent: 80 };

export interface LightDropletHostsOptions {
  /** Where each droplet's installed files are kept (one directory per droplet); removed by close(). */
  readonly baseDir: string;
  readonly sshPort: number;
  /** The in-process supervisor's heartbeat interval. */
  readonly heartbeatMs: () => number;
}

export interface LightDropletView {
  readonly id: number;
  readonly ip: string;
  readonly power: 'on' | 'off';
  readonly supervisor: { readonly running: boolean; readonly connected: boolean; readonly tag: string | null; readonly heartbeats: number; readonly lastError: string | null };
  /** Commands answered (one exec channel each), and those a light droplet does not model. */
  readonly sessions: number;
  readonly refused: number;
}

export interface LightDropletHosts extends DropletHostDriver {
  /**
   * Puts a supervisor configuration in place, as `trigger-ops-agent apply` leaves it (compose file and .env), and
   * starts its supervisor: the pre-made state of a seeded droplet.
   */
  install(id: number, config: { readonly compose: string; readonly env: string }): Promise<void>;
  inspect(id: number): LightDropletView;
  /** Every light droplet's totals (the bench reports them). */
  totals(): { readonly droplets: number; readonly sessions: number; readonly refused: number; readonly connected: number };
  close(): Promise<void>;
}

/** A session's process, in-process: what DropletSshServer needs from a child process. */
class AnsweredSession extends EventEmitter implements SessionProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();

  constructor(answer: { readonly code: number; readonly stdout?: string; readonly stderr?: string }) {
    super();
    this.stdin.resume();
    // After the caller attached its listeners (the same tick would lose the output).
    setImmediate(() => {
      if (answer.stdout) this.stdout.write(answer.stdout);
      if (answer.stderr) this.stderr.write(answer.stderr);
      this.stdout.end();
      this.stderr.end();
      this.emit('close', answer.code, null);
    });
  }
}

interface Supervisor {
  readonly tag: string;
  readonly image: string;
  readonly startedAt: string;
  connected: boolean;
  heartbeats: number;
  lastError: string | null;
  timer: NodeJS.Timeout | undefined;
  readonly abort: AbortController;
}

class LightDroplet {
  power: 'on' | 'off' = 'on';
  config: { compose: string; env: string } | undefined;
  supervisor: Supervisor | undefined;
  sessions = 0;
  refused = 0;
  readonly ssh: DropletSshServer;
  readonly dir: string;

  constructor(
    readonly spec: DropletSpec,
    readonly ip: string,
    private readonly options: LightDropletHostsOptions,
  ) {
    const data = readUserData(spec.userData);
    const keys = authorizedKeysByUser(data, spec.sshPublicKeys);
    const hostKey = hostKeysFrom(data)[0];
    if (!hostKey) throw new Error(`light droplet ${spec.id}: its user data carries no ed25519 host key`);
    this.dir = join(options.baseDir, String(spec.id));
    this.ssh = new DropletSshServer(
      { ip, port: options.sshPort, authorizedKeys: (user) => keys.get(user) ?? [], runSession: (_user, command) => this.answer(command) },
      [hostKey],
    );
  }

  private answer(command: string | undefined): SessionProcess {
    this.sessions += 1;
    if (command === agentStatusCommand().command) return new AnsweredSession({ code: 0, stdout: `${JSON.stringify(this.status())}\n` });
    if (command === dockerServerVersionCommand().command) return new AnsweredSession({ code: 0, stdout: `${JSON.stringify(DOCKER_SERVER)}\n` });
    this.refused += 1;
    return new AnsweredSession({ code: 127, stderr: `sandbox light droplet: only the healthy heal check's commands are modelled, not ${JSON.stringify(command ?? '(shell)')}\n` });
  }

  /** What `trigger-ops-agent status` prints for this state (src/remote/agent.sh, cmd_status). */
  private status(): AgentStatus {
    const s = this.supervisor;
    return {
      ok: true,
      agentVersion: AGENT_VERSION,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      docker: { running: true, error: null },
      cloudInit: { status: 'done' },
      supervisor: s
        ? {
            name: CONTAINER,
            exists: true,
            state: 'running',
            running: true,
            restarting: false,
            health: null,
            restartCount: 0,
            startedAt: s.startedAt,
            image: s.image,
            tag: s.tag,
            exitCode: 0,
            connectedToPlatform: s.connected,
            failedToConnectRecent: s.lastError ? 1 : 0,
            lastFailedToConnect: s.lastError,
          }
        : null,
      disk: DISK,
      config: this.config
        ? { applied: true, hash: configHash(this.config.compose, this.config.env), tag: s?.tag ?? null, previousTag: null, appliedAt: s?.startedAt ?? null }
        : { applied: false, hash: null, tag: null, previousTag: null, appliedAt: null },
    };
  }

  /** Writes the files as apply does and starts the supervisor the compose file describes, in this process. */
  async install(config: { compose: string; env: string }): Promise<void> {
    this.stopSupervisor();
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'compose.yaml'), config.compose);
    writeFileSync(join(this.dir, '.env'), config.env, { mode: 0o600 });
    this.config = config;
    const project = loadComposeProject({ root: this.dir, cwd: '/', projectDirectory: '/', files: ['/compose.yaml'], envFiles: ['/.env'], projectName: 'trigger', shellEnv: {} });
    const service = project.services.find((s) => isSupervisorImage(s.image));
    if (!service) throw new Error(`light droplet ${this.spec.id}: the compose file runs no supervisor image`);
    const parsed = parseSupervisorEnv(service.environment);
    if (!parsed.success) throw new Error(`light droplet ${this.spec.id}: the supervisor would refuse its environment: ${parsed.issues.join('; ')}`);
    const env = parsed.data;
    const supervisor: Supervisor = {
      tag: service.image.split(':').pop() ?? '',
      image: service.image,
      startedAt: new Date().toISOString(),
      connected: false,
      heartbeats: 0,
      lastError: null,
      timer: undefined,
      abort: new AbortController(),
    };
    this.supervisor = supervisor;
    const headers = {
      authorization: `Bearer ${env.TRIGGER_WORKER_TOKEN}`,
      'content-type': 'application/json',
      'x-trigger-worker-instance-name': env.TRIGGER_WORKER_INSTANCE_NAME,
      'x-trigger-worker-managed-secret': env.MANAGED_WORKER_SECRET,
    };
    const post = (path: string, body: unknown) =>
      fetch(`${env.TRIGGER_API_URL.replace(/\/$/, '')}/engine/v1/worker-actions/${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: supervisor.abort.signal });
    const res = await post('connect', { metadata: { workerVersion: supervisor.tag.replace(/^v/, ''), hostname: env.TRIGGER_WORKER_INSTANCE_NAME } });
    await res.text();
    if (!res.ok) {
      // The real one exits and crash-loops; a light droplet has no restart loop to show, so it stays not connected.
      supervisor.lastError = `Failed to connect (HTTP ${res.status})`;
      return;
    }
    supervisor.connected = true;
    supervisor.timer = setInterval(() => {
      post('heartbeat', { cpu: { used: 0, available: 1 }, memory: { used: 0, available: 1 }, tasks: [] }).then(
        async (r) => {
          await r.text();
          if (r.ok) supervisor.heartbeats += 1;
        },
        () => undefined,
      );
    }, this.options.heartbeatMs());
  }

  stopSupervisor(): void {
    const s = this.supervisor;
    if (!s) return;
    clearInterval(s.timer);
    s.abort.abort();
    this.supervisor = undefined;
  }

  async halt(): Promise<void> {
    this.power = 'off';
    this.stopSupervisor();
    await this.ssh.stop();
  }
}

/** Droplets for the scale bench: one process, one SSH server object per droplet, no child processes. */
export function createLightDropletHosts(options: LightDropletHostsOptions): LightDropletHosts {
  mkdirSync(options.baseDir, { recursive: true });
  const droplets = new Map<number, LightDroplet>();
  const reserved = new Set<string>();
  const get = (id: number) => {
    const d = droplets.get(id);
    if (!d) throw new Error(`sandbox light droplet ${id} does not exist`);
    return d;
  };
  const unsupported = (what: string) => async () => {
    throw new Error(`sandbox light droplets do not model ${what}: use full droplets (the default sandbox)`);
  };
  return {
    async create(spec) {
      const ip = await allocateLoopbackAddress(reserved, [options.sshPort]);
      reserved.add(ip);
      const droplet = new LightDroplet(spec, ip, options);
      droplets.set(spec.id, droplet);
      await droplet.ssh.start();
      return { ipv4: ip };
    },
    async powerOff(id) {
      await get(id).halt();
    },
    powerOn: unsupported('power on'),
    async shutdown(id) {
      await get(id).halt();
    },
    reboot: unsupported('reboot'),
    powerCycle: unsupported('power cycle'),
    rebuild: unsupported('rebuild'),
    async destroy(id) {
      const d = droplets.get(id);
      if (!d) return;
      droplets.delete(id);
      await d.halt();
      reserved.delete(d.ip);
      rmSync(d.dir, { recursive: true, force: true });
    },
    async install(id, config) {
      await get(id).install({ ...config });
    },
    inspect(id) {
      const d = get(id);
      const s = d.supervisor;
      return {
        id,
        ip: d.ip,
        power: d.power,
        supervisor: { running: s !== undefined, connected: s?.connected ?? false, tag: s?.tag ?? null, heartbeats: s?.heartbeats ?? 0, lastError: s?.lastError ?? null },
        sessions: d.sessions,
        refused: d.refused,
      };
    },
    totals() {
      const all = [...droplets.values()];
      return {
        droplets: all.length,
        sessions: all.reduce((a, d) => a + d.sessions, 0),
        refused: all.reduce((a, d) => a + d.refused, 0),
        connected: all.filter((d) => d.supervisor?.connected).length,
      };
    },
    async close() {
      const all = [...droplets.values()];
      droplets.clear();
      await Promise.all(all.map((d) => d.halt()));
      reserved.clear();
      rmSync(options.baseDir, { recursive: true, force: true });
    },
  };
}
