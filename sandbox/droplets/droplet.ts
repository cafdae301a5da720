import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import type { DropletSpec } from '../contracts';
import { Sleeps } from '../timings';
import {
  applyInitStage,
  homeInside,
  homeOf,
  hostKeysFrom,
  readUserData,
  runFinalStage,
  type CloudInitRecord,
  type UserData,
} from './cloud-init';
import { serveCommands, type CommandSocket } from './command-socket';
import { runDockerCli } from './docker-cli';
import { DockerDaemon, isSupervisorImage, probeWorkload, signalGroup, type DockerDaemonOptions } from './docker-daemon';
import { newHostState, runHostCommand, type HostState } from './host-commands';
import { DROPLET_SOCKET_NAME, startNamespace, type DropletNamespace } from './isolation';
import { DropletSshServer, type SshMode } from './ssh-server';

export type PowerState = 'off' | 'booting' | 'on';

export interface HostCall {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly at: string;
}

/** The daemon's settings every droplet of the sandbox shares. */
type DaemonSettings = Pick<DockerDaemonOptions, 'registry' | 'workerVersionOf' | 'restartBackoffMs' | 'restartBackoffMaxMs' | 'healthIntervalMs' | 'stopTimeoutMs'>;

export interface DropletRuntime extends DaemonSettings {
  readonly baseDir: string;
  readonly sshPort: number;
  /** Durations, asked each time the delay starts (the sandbox draws them from its timing table). */
  readonly bootDelayMs: () => number;
  readonly cloudInitDelayMs: () => number;
  readonly imagePullMs: () => number;
  readonly supervisorConnectMs: () => number;
  readonly heartbeatIntervalMs: () => number;
}

function newRecord(): CloudInitRecord {
  return {
    status: 'running',
    errors: [],
    startedAt: new Date().toISOString(),
    finishedAt: undefined,
    files: [],
    packages: [],
    packageUpdate: false,
    packageUpgrade: false,
    users: [],
  };
}

/** Absolute command line that runs a TypeScript file of this directory with tsx (a container's process). */
function tsxCommand(script: string): readonly string[] {
  return [process.execPath, '--import', require.resolve('tsx'), join(__dirname, script)];
}

/** The image's PATH (Ubuntu's /etc/environment). */
const DROPLET_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const generate = promisify(generateKeyPair);
const PEM = { format: 'pem' as const };

/**
 * The rsa host key sshd makes at first boot (Ubuntu's sshd-keygen: rsa 3072, beside ecdsa 256 and the ed25519 key
 * cloud-init installs). One takes half a second of CPU, so a couple wait ready-made; a droplet whose key is not
 * ready yet serves ed25519 and ecdsa and adds rsa when it is (clients pin ed25519, the first offered).
 */
class RsaHostKeys {
  private ready: Promise<string>[] = [];

  take(): Promise<string> {
    const next = this.ready.shift() ?? this.make();
    this.warm();
    return next;
  }

  /** Starts making the ready keys (when the sandbox starts, so its first droplets need not wait). */
  warm(): void {
    while (this.ready.length < 2) this.ready.push(this.make());
  }

  private async make(): Promise<string> {
    const rsa = await generate('rsa', { modulusLength: 3072, privateKeyEncoding: { ...PEM, type: 'pkcs1' }, publicKeyEncoding: { ...PEM, type: 'spki' } });
    return rsa.privateKey;
  }
}

function ecdsaHostKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { ...PEM, type: 'sec1' }, publicKeyEncoding: { ...PEM, type: 'spki' } }).privateKey;
}

const OTHER_HOST_KEY_FILES = ['ssh_host_ecdsa_key', 'ssh_host_rsa_key'];
export const rsaHostKeys = new RsaHostKeys();

/**
 * One simulated droplet: its disk (a directory, `root`), its own namespaces over that disk (isolation.ts), sshd,
 * cloud-init, a docker daemon and the host stand-ins, which the droplet reaches through one command socket.
 */
export class Droplet {
  readonly dir: string;
  readonly root: string;
  private readonly socketDir: string;
  private namespace: DropletNamespace | undefined;
  power: PowerState = 'off';
  cloudInit: CloudInitRecord = newRecord();
  readonly calls: HostCall[] = [];
  diskFull = false;
  failCloudInit = false;
  /** Set by the differentHostKey fault: sshd presents this key instead of its own, also across reboots. */
  impostorHostKey: string | undefined;
  sshMode: SshMode = 'serve';
  private userData: UserData;
  private hostState: HostState = newHostState();
  private commandSocket: CommandSocket | undefined;
  private readonly processes = new Set<ChildProcess>();
  private readonly ssh: DropletSshServer;
  readonly docker: DockerDaemon;
  private generation = 0;
  private cloudInitWaiters: (() => void)[] = [];
  /** Boot and cloud-init waits; power loss cuts them short (the generation then says they are stale). */
  private readonly sleeps = new Sleeps();

  constructor(
    readonly spec: DropletSpec,
    readonly ip: string,
    private readonly runtime: DropletRuntime,
  ) {
    this.dir = join(runtime.baseDir, String(spec.id));
    this.root = join(this.dir, 'root');
    this.socketDir = join(this.dir, 'run');
    this.userData = readUserData(spec.userData);
    this.ssh = new DropletSshServer(
      {
        ip,
        port: runtime.sshPort,
        authorizedKeys: (user) => this.authorizedKeys(user),
        runSession: (user, command) => this.runSession(user, command),
      },
      [this.hostKey()],
    );
    this.docker = new DockerDaemon({
      workloadSocketPath: (containerId) => this.workloadSocket(containerId),
      registry: runtime.registry,
      workerVersionOf: runtime.workerVersionOf,
      restartBackoffMs: runtime.restartBackoffMs,
      restartBackoffMaxMs: runtime.restartBackoffMaxMs,
      healthIntervalMs: runtime.healthIntervalMs,
      stopTimeoutMs: runtime.stopTimeoutMs,
      startSupervisor: ({ env }) => {
        const [cmd = process.execPath, ...args] = tsxCommand('supervisor-process.ts');
        return this.spawnTracked(cmd, args, this.root, { ...env, PATH: DROPLET_PATH }, ['ignore', 'pipe', 'pipe']);
      },
      extraSupervisorEnv: () => ({
        SANDBOX_DROPLET_ROOT: this.root,
        SANDBOX_HEARTBEAT_INTERVAL_MS: String(runtime.heartbeatIntervalMs()),
        // The supervisor connects this long after its container started (its own process start-up included).
        SANDBOX_CONNECT_AT_MS: String(Date.now() + runtime.supervisorConnectMs()),
      }),
      pullDelayMs: () => runtime.imagePullMs(),
      isDiskFull: () => this.diskFull,
      cli: (daemon, request, io) => {
        this.record('docker', request.argv);
        return runDockerCli(daemon, request, io, this.root);
      },
    });
  }

  /** The host key sshd presents: the one cloud-init installed, else one generated at first boot. */
  private hostKey(): string {
    const fromUserData = hostKeysFrom(this.userData)[0];
    if (fromUserData) return fromUserData;
    const onDisk = join(this.root, 'etc', 'ssh', 'ssh_host_ed25519_key');
    if (existsSync(onDisk)) return readFileSync(onDisk, 'utf8');
    return generateEd25519KeyPair('sandbox-droplet-host').privateKey;
  }

  private authorizedKeys(user: string): string[] {
    const file = join(homeOf(this.root, user), '.ssh', 'authorized_keys');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  }

  /** The environment of every SSH session and cloud-init script (docs/droplet-contract.md). */
  env(user: string): Record<string, string> {
    return {
      PATH: DROPLET_PATH,
      HOME: homeInside(user),
      USER: user,
      LOGNAME: user,
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
    };
  }

  private spawnTracked(
    cmd: string,
    args: readonly string[],
    cwd: string,
    env: Record<string, string>,
    stdio: ['pipe' | 'ignore', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'],
  ): ChildProcess {
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    child.on('error', () => this.processes.delete(child));
    return child;
  }

  /** A program inside the droplet (its namespaces, no capabilities), as sshd or cloud-init would start it. */
  private spawnInside(argv: readonly string[], cwd: string, env: Record<string, string>): ChildProcess {
    if (!this.namespace) throw new Error(`sandbox droplet ${this.spec.id} is not running`);
    const child = this.namespace.spawn(argv, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    child.on('error', () => this.processes.delete(child));
    return child;
  }

  private runSession(user: string, command: string | undefined): ChildProcess {
    mkdirSync(homeOf(this.root, user), { recursive: true });
    const argv = command === undefined ? ['/usr/bin/bash', '-s'] : ['/usr/bin/bash', '-c', command];
    return this.spawnInside(argv, homeInside(user), this.env(user));
  }

  private record(tool: string, argv: readonly string[]): void {
    this.calls.push({ tool, argv: [...argv], at: new Date().toISOString() });
  }

  /** The droplet's one way out: every stand-in command of the droplet arrives on this socket. */
  private async startCommandSocket(): Promise<void> {
    this.commandSocket = await serveCommands(join(this.socketDir, DROPLET_SOCKET_NAME), (request, io) => {
      if (request.tool === 'docker') return this.docker.handle(request, io);
      this.record(request.tool, request.argv);
      return runHostCommand(
        {
          cloudInit: () => this.cloudInit,
          cloudInitFinished: () => this.cloudInitFinished(),
          docker: {
            running: () => this.docker.running,
            start: async () => this.docker.start(),
            stop: () => this.docker.stop(true),
          },
          diskFull: () => this.diskFull,
        },
        this.hostState,
        request,
        io,
      );
    });
  }

  cloudInitFinished(): Promise<void> {
    if (this.cloudInit.status !== 'running') return Promise.resolve();
    return new Promise((resolve) => this.cloudInitWaiters.push(resolve));
  }

  private finishCloudInit(errors: readonly string[]): void {
    this.cloudInit.errors.push(...errors);
    this.cloudInit.status = this.cloudInit.errors.length > 0 ? 'error' : 'done';
    this.cloudInit.finishedAt = new Date().toISOString();
    const waiters = this.cloudInitWaiters;
    this.cloudInitWaiters = [];
    for (const w of waiters) w();
  }

  /** Boots; `fresh` = first boot of this disk, when cloud-init runs. Resolves once sshd answers. */
  async boot(fresh: boolean): Promise<void> {
    const generation = ++this.generation;
    this.power = 'booting';
    const rsa = fresh ? rsaHostKeys.take() : undefined;
    await this.sleeps.sleep(this.runtime.bootDelayMs());
    if (generation !== this.generation) return;
    mkdirSync(join(this.root, 'root'), { recursive: true });
    if (fresh) {
      this.cloudInit = newRecord();
      try {
        applyInitStage(this.root, this.userData, this.spec.sshPublicKeys, this.hostKey(), this.cloudInit);
      } catch (err) {
        this.cloudInit.errors.push(`('init', ${err instanceof Error ? err.message : String(err)})`);
      }
      this.writeHostKey('ssh_host_ecdsa_key', ecdsaHostKey());
      if (this.userData.kind === 'invalid') {
        this.finishCloudInit(this.userData.errors.map((e) => `cloud-config schema: ${e}`));
      }
    }
    this.ssh.setHostKeys(this.impostorHostKey ? [this.impostorHostKey] : this.hostKeys());
    void rsa?.then((key) => {
      if (generation !== this.generation) return;
      this.writeHostKey('ssh_host_rsa_key', key);
      if (!this.impostorHostKey) this.ssh.setHostKeys(this.hostKeys());
    });
    await this.startCommandSocket();
    this.namespace = await startNamespace(this.root, this.spec.name, this.socketDir);
    this.docker.start();
    await this.ssh.setMode(this.sshMode);
    this.power = 'on';
    if (fresh && this.cloudInit.status === 'running') void this.runCloudInit(generation);
  }

  /** Every host key sshd presents: ed25519 (the one cloud-init installed) first, then ecdsa and rsa, from the disk. */
  private hostKeys(): string[] {
    const sshd = join(this.root, 'etc', 'ssh');
    const others = OTHER_HOST_KEY_FILES.map((f) => join(sshd, f)).filter((f) => existsSync(f));
    return [this.hostKey(), ...others.map((f) => readFileSync(f, 'utf8'))];
  }

  private writeHostKey(file: string, key: string): void {
    try {
      mkdirSync(join(this.root, 'etc', 'ssh'), { recursive: true });
      writeFileSync(join(this.root, 'etc', 'ssh', file), key, { mode: 0o600 });
    } catch {
      // The disk went away (destroyed meanwhile).
    }
  }

  private async runCloudInit(generation: number): Promise<void> {
    await this.sleeps.sleep(this.runtime.cloudInitDelayMs());
    if (generation !== this.generation) return;
    const errors: string[] = [];
    try {
      await runFinalStage(this.root, this.userData, this.cloudInit, (path, logPath) => this.runScript(path, logPath));
    } catch (err) {
      errors.push(`('modules-final', ${err instanceof Error ? err.message : String(err)})`);
    }
    if (generation !== this.generation) return;
    if (this.failCloudInit) {
      this.failCloudInit = false;
      errors.push(`('scripts_user', RuntimeError('sandbox fault: cloud-init failure injected'))`);
    }
    this.finishCloudInit(errors);
  }

  /** cloud-init's runcmd script (a file on the droplet's disk), run inside the droplet from `/`. */
  private runScript(path: string, logPath: string): Promise<number> {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = this.spawnInside(['/usr/bin/bash', `/${relative(this.root, path)}`], '/', this.env('root'));
      } catch {
        resolve(127);
        return;
      }
      const chunks: Buffer[] = [];
      child.stdout?.on('data', (c: Buffer) => chunks.push(c));
      child.stderr?.on('data', (c: Buffer) => chunks.push(c));
      child.stdin?.end();
      child.on('error', () => resolve(127));
      child.on('close', (code) => {
        try {
          mkdirSync(join(logPath, '..'), { recursive: true });
          appendFileSync(logPath, Buffer.concat(chunks));
        } catch {
          // The disk went away (destroyed while running).
        }
        resolve(code ?? 1);
      });
    });
  }

  /** Everything stops at once, as when power is cut; `graceful` lets containers see SIGTERM first. */
  async halt(graceful: boolean): Promise<void> {
    this.generation++;
    this.sleeps.cutShort();
    this.power = 'off';
    await this.ssh.stop();
    await this.docker.stop(graceful);
    await this.commandSocket?.close();
    this.commandSocket = undefined;
    const exits = [...this.processes].map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
    );
    for (const child of this.processes) signalGroup(child, 'SIGKILL');
    // Power loss inside: the droplet's init dies, and the kernel takes every process of its PID namespace with it.
    await this.namespace?.kill();
    this.namespace = undefined;
    await Promise.all(exits);
    if (this.cloudInit.status === 'running') this.finishCloudInit(['cloud-init was interrupted: the droplet lost power']);
  }

  /** What runs inside the droplet (host pids): the agent's workers included, the supervisor's container not. */
  processesInside(): { pid: number; command: string }[] {
    return this.namespace?.processes() ?? [];
  }

  /** The supervisor's workload API answers /health (probed as from inside the droplet; no host port carries it). */
  probeWorkload(): Promise<boolean> {
    const supervisor = [...this.docker.containers.values()].find((c) => c.state === 'running' && isSupervisorImage(c.config.image));
    return supervisor ? probeWorkload(this.workloadSocket(supervisor.id)) : Promise.resolve(false);
  }

  private workloadSocket(containerId: string): string {
    return join(this.dir, 'workload', `${containerId.slice(0, 12)}.sock`);
  }

  async setSshMode(mode: SshMode): Promise<void> {
    this.sshMode = mode;
    if (this.power === 'on') await this.ssh.setMode(mode);
  }

  /** Fault: the network drops the droplet's SSH connections; what they ran goes on (docs/droplet-contract.md). */
  dropSshConnections(): number {
    return this.ssh.dropConnections();
  }

  impersonateHostKey(): void {
    this.impostorHostKey = generateEd25519KeyPair('sandbox-droplet-host').privateKey;
    this.ssh.setHostKeys([this.impostorHostKey]);
  }

  /** Back to the droplet's own host key. */
  restoreHostKey(): void {
    this.impostorHostKey = undefined;
    this.ssh.setHostKeys(this.hostKeys());
  }

  /** A rebuild: new disk from the image, same user data; cloud-init runs again. */
  async rebuild(): Promise<void> {
    await this.halt(false);
    rmSync(this.root, { recursive: true, force: true });
    this.docker.wipe();
    this.hostState = newHostState();
    this.diskFull = false;
    await this.boot(true);
  }

  async destroy(): Promise<void> {
    await this.halt(false);
    this.docker.wipe();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
