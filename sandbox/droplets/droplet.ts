import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import type { DropletSpec } from '../contracts';
import { Sleeps } from '../timings';
import {
  applyInitStage,
  homeOf,
  hostKeysFrom,
  readUserData,
  runFinalStage,
  type CloudInitRecord,
  type UserData,
} from './cloud-init';
import { serveCommands, type CommandSocket } from './command-socket';
import { runDockerCli } from './docker-cli';
import { DockerDaemon, signalGroup, type DockerDaemonOptions } from './docker-daemon';
import { newHostState, runHostCommand, type HostState } from './host-commands';
import { killProcessesOfRoot } from './processes';
import { DropletSshServer, type SshMode } from './ssh-server';
import { tsxCommand, writeStandIns } from './stand-ins';

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
  readonly systemPath: string;
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

/** One simulated droplet: its root directory, sshd, cloud-init, docker daemon and host stand-ins. */
export class Droplet {
  readonly dir: string;
  readonly root: string;
  private readonly binDir: string;
  private readonly hostSocketPath: string;
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
  private hostSocket: CommandSocket | undefined;
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
    this.binDir = join(this.dir, 'bin');
    this.hostSocketPath = join(this.dir, 'run', 'host.sock');
    this.userData = readUserData(spec.userData);
    this.ssh = new DropletSshServer(
      {
        ip,
        port: runtime.sshPort,
        authorizedKeys: (user) => this.authorizedKeys(user),
        runSession: (user, command) => this.runSession(user, command),
      },
      this.hostKey(),
    );
    this.docker = new DockerDaemon({
      ip,
      socketPath: join(this.root, 'var', 'run', 'docker.sock'),
      registry: runtime.registry,
      workerVersionOf: runtime.workerVersionOf,
      restartBackoffMs: runtime.restartBackoffMs,
      restartBackoffMaxMs: runtime.restartBackoffMaxMs,
      healthIntervalMs: runtime.healthIntervalMs,
      stopTimeoutMs: runtime.stopTimeoutMs,
      startSupervisor: ({ env }) => {
        const [cmd = process.execPath, ...args] = tsxCommand('supervisor-process.ts');
        return this.spawnTracked(cmd, args, this.root, { ...env, PATH: runtime.systemPath }, ['ignore', 'pipe', 'pipe']);
      },
      extraSupervisorEnv: () => ({
        TRIGGER_OPS_ROOT: this.root,
        SANDBOX_DROPLET_IP: ip,
        SANDBOX_HEARTBEAT_INTERVAL_MS: String(runtime.heartbeatIntervalMs()),
        // The supervisor connects this long after its container started (its own process start-up included).
        SANDBOX_CONNECT_AT_MS: String(Date.now() + runtime.supervisorConnectMs()),
      }),
      pullDelayMs: () => runtime.imagePullMs(),
      isDiskFull: () => this.diskFull,
      cli: (daemon, request, io) => {
        this.record('docker', request.argv);
        return runDockerCli(daemon, request, io);
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
      TRIGGER_OPS_ROOT: this.root,
      PATH: `${this.binDir}:${join(this.root, 'usr', 'local', 'bin')}:${this.runtime.systemPath}`,
      SANDBOX_DROPLET_IP: this.ip,
      HOME: homeOf(this.root, user),
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

  private runSession(user: string, command: string | undefined): ChildProcess {
    const home = homeOf(this.root, user);
    mkdirSync(home, { recursive: true });
    return this.spawnTracked('bash', command === undefined ? ['-s'] : ['-c', command], home, this.env(user));
  }

  private record(tool: string, argv: readonly string[]): void {
    this.calls.push({ tool, argv: [...argv], at: new Date().toISOString() });
  }

  private async startHostSocket(): Promise<void> {
    this.hostSocket = await serveCommands(this.hostSocketPath, (request, io) => {
      this.record(request.tool, request.argv);
      return runHostCommand(
        {
          cloudInit: () => this.cloudInit,
          cloudInitFinished: () => this.cloudInitFinished(),
          docker: {
            running: () => this.docker.running,
            start: () => this.docker.start(),
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
    await this.sleeps.sleep(this.runtime.bootDelayMs());
    if (generation !== this.generation) return;
    mkdirSync(join(this.root, 'root'), { recursive: true });
    mkdirSync(join(this.root, 'usr', 'local', 'bin'), { recursive: true });
    mkdirSync(join(this.root, 'tmp'), { recursive: true });
    if (fresh) {
      this.cloudInit = newRecord();
      const hostKey = this.hostKey();
      this.ssh.setHostKey(this.impostorHostKey ?? hostKey);
      try {
        applyInitStage(this.root, this.userData, this.spec.sshPublicKeys, hostKey, this.cloudInit);
      } catch (err) {
        this.cloudInit.errors.push(`('init', ${err instanceof Error ? err.message : String(err)})`);
      }
      if (this.userData.kind === 'invalid') {
        this.finishCloudInit(this.userData.errors.map((e) => `cloud-config schema: ${e}`));
      }
    }
    writeStandIns(this.binDir, { host: this.hostSocketPath, docker: join(this.root, 'var', 'run', 'docker.sock') });
    await this.startHostSocket();
    await this.docker.start();
    await this.ssh.setMode(this.sshMode);
    this.power = 'on';
    if (fresh && this.cloudInit.status === 'running') void this.runCloudInit(generation);
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

  private runScript(path: string, logPath: string): Promise<number> {
    return new Promise((resolve) => {
      const child = this.spawnTracked('bash', [path], this.root, this.env('root'));
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
    await this.hostSocket?.close();
    this.hostSocket = undefined;
    const exits = [...this.processes].map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
    );
    for (const child of this.processes) signalGroup(child, 'SIGKILL');
    await Promise.all(exits);
    killProcessesOfRoot(this.root);
    if (this.cloudInit.status === 'running') this.finishCloudInit(['cloud-init was interrupted: the droplet lost power']);
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
    this.ssh.setHostKey(this.impostorHostKey);
  }

  /** Back to the droplet's own host key. */
  restoreHostKey(): void {
    this.impostorHostKey = undefined;
    this.ssh.setHostKey(this.hostKey());
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
