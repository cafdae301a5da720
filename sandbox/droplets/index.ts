import { mkdirSync, rmSync } from 'node:fs';
import { SANDBOX_SUPERVISOR_IMAGE, type DropletHostDriver, type DropletSpec } from '../contracts';
import { newestRelease, registryImageRefs } from '../registry';
import { delayMs, type Delay } from '../timings';
import type { CloudInitStatus, WrittenFile } from './cloud-init';
import { normaliseImage, type ContainerState, type HealthStatus } from './docker-daemon';
import { Droplet, rsaHostKeys, type DropletRuntime, type HostCall, type PowerState } from './droplet';
import { allocateLoopbackAddress } from './loopback';

export type { HostCall, PowerState } from './droplet';

export interface DropletHostsOptions {
  /** All droplet state lives under it (one directory per droplet); removed by close(). */
  readonly baseDir: string;
  /** The SSH port every droplet listens on at its own address. Default 2222. */
  readonly sshPort?: number;
  /** Time from power on to sshd answering. Default 0. */
  readonly bootDelayMs?: Delay;
  /** Time cloud-init spends before its final stage (packages, runcmd). Default 0. */
  readonly cloudInitDelayMs?: Delay;
  /** Time a pull of one image not yet on the droplet takes (a present image is instant). Default 0. */
  readonly imagePullMs?: Delay;
  /** Time from a supervisor container's start to its "Connected to platform". Default 0. */
  readonly supervisorConnectMs?: Delay;
  /** The simulated supervisor's heartbeat interval. Default 30 s, like the real one. */
  readonly supervisorHeartbeatMs?: Delay;
  /**
   * Image references the sandbox registry serves. Default: the vendored list of published images (sandbox/registry.ts);
   * others fail to pull as on the real registry (`manifest unknown` for a missing tag).
   */
  readonly knownImages?: readonly string[];
  /** First delay of Docker's restart backoff (doubles per restart). Default 100 ms, as in Docker. */
  readonly restartBackoffMs?: number;
  readonly restartBackoffMaxMs?: number;
  /** How often Docker healthchecks run. Default 1 s. */
  readonly healthIntervalMs?: number;
  /** `docker stop` grace period before SIGKILL. Default 2 s. */
  readonly stopTimeoutMs?: number;
}

export interface ContainerView {
  readonly name: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly restartCount: number;
  readonly exitCode: number;
  readonly health: HealthStatus | undefined;
  readonly pid: number | undefined;
}

export interface DropletView {
  readonly id: number;
  readonly name: string;
  readonly ip: string;
  readonly root: string;
  readonly power: PowerState;
  readonly cloudInit: {
    readonly status: CloudInitStatus;
    readonly errors: readonly string[];
    readonly files: readonly WrittenFile[];
    readonly packages: readonly string[];
    readonly packageUpdate: boolean;
    readonly packageUpgrade: boolean;
    readonly users: readonly string[];
  };
  readonly dockerRunning: boolean;
  readonly images: readonly string[];
  /** Images whose pull is under way. */
  readonly pulling: readonly string[];
  readonly containers: readonly ContainerView[];
  readonly hostCalls: readonly HostCall[];
  readonly diskFull: boolean;
  readonly ssh: 'serve' | 'refuse' | 'hang';
  /** What runs inside the droplet (host pids and command lines; the supervisor's container is the daemon's). */
  readonly processes: readonly { readonly pid: number; readonly command: string }[];
}

export interface DropletFaults {
  /** The supervisor process dies (SIGKILL); its restart policy brings it back. */
  killSupervisor(id: number): void;
  /** The Docker daemon stops: `docker` says it cannot connect; `systemctl start docker` brings it back. */
  stopDocker(id: number): Promise<void>;
  /** `df` reports the disk (almost) full; pulls fail with "no space left on device". */
  fullDisk(id: number, on: boolean): void;
  /** sshd stops listening: connection refused. */
  sshRefuse(id: number): Promise<void>;
  /** sshd accepts TCP but never speaks. */
  sshHang(id: number): Promise<void>;
  /** Back to a normal sshd. */
  sshServe(id: number): Promise<void>;
  /**
   * The network drops the droplet's open SSH connections (mid-command): clients see their sessions fail, while the
   * commands run on as under OpenSSH (pipes closed, no signal). Returns how many connections were dropped.
   */
  dropConnections(id: number): number;
  /** sshd presents another host key (as a man in the middle would). */
  differentHostKey(id: number): void;
  /** Boot delay for every later power on, create and rebuild (instead of the configured one, until clear()). */
  delayBoot(ms: number): void;
  /** cloud-init ends in `error`: for the given droplet's next cloud-init run, or for the next droplet created. */
  failCloudInit(id?: number): void;
  clear(): void;
}

export interface DropletHosts extends DropletHostDriver {
  readonly faults: DropletFaults;
  inspect(id: number): DropletView;
  /** The droplet's disk: the host directory it sees as `/`. */
  rootOf(id: number): string;
  /** Whether the supervisor's workload API answers /health, asked from inside the droplet (no host port has it). */
  probeWorkload(id: number): Promise<boolean>;
  close(): Promise<void>;
}

/** `…/supervisor:v4.5.12` → `4.5.12`; floating tags (`latest`, `v4`) resolve to the newest release. */
function workerVersionOf(ref: string): string {
  const tag = normaliseImage(ref).split(':').pop() ?? '';
  if (/^v?\d+\.\d+\.\d+/.test(tag)) return tag.replace(/^v/, '');
  return newestRelease(SANDBOX_SUPERVISOR_IMAGE).tag.replace(/^v/, '');
}

/**
 * Makes sandbox droplets real: each gets its own loopback address with an sshd, a disk and namespaces of its own
 * (isolation.ts) where cloud-init and SSH sessions run, a docker daemon with the simulated supervisor, and host
 * stand-ins reached through one socket. See docs/droplet-contract.md.
 */
export function createDropletHosts(options: DropletHostsOptions): DropletHosts {
  let bootDelayFault: number | undefined;
  const runtime: DropletRuntime = {
    baseDir: options.baseDir,
    sshPort: options.sshPort ?? 2222,
    bootDelayMs: () => bootDelayFault ?? delayMs(options.bootDelayMs ?? 0),
    cloudInitDelayMs: () => delayMs(options.cloudInitDelayMs ?? 0),
    imagePullMs: () => delayMs(options.imagePullMs ?? 0),
    supervisorConnectMs: () => delayMs(options.supervisorConnectMs ?? 0),
    heartbeatIntervalMs: () => delayMs(options.supervisorHeartbeatMs ?? 30_000),
    registry: new Set((options.knownImages ?? registryImageRefs()).map(normaliseImage)),
    workerVersionOf,
    restartBackoffMs: options.restartBackoffMs ?? 100,
    restartBackoffMaxMs: options.restartBackoffMaxMs ?? 2_000,
    healthIntervalMs: options.healthIntervalMs ?? 1_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 2_000,
  };
  mkdirSync(options.baseDir, { recursive: true });
  rsaHostKeys.warm();
  const droplets = new Map<number, Droplet>();
  const reserved = new Set<string>();
  let failNextCreate = false;
  let closed = false;

  const get = (id: number): Droplet => {
    const droplet = droplets.get(id);
    if (!droplet) throw new Error(`sandbox droplet ${id} does not exist`);
    return droplet;
  };

  return {
    async create(spec: DropletSpec) {
      if (closed) throw new Error('sandbox droplet hosts are closed');
      if (droplets.has(spec.id)) throw new Error(`sandbox droplet ${spec.id} exists already`);
      const ip = await allocateLoopbackAddress(reserved, [runtime.sshPort]);
      reserved.add(ip);
      const droplet = new Droplet(spec, ip, runtime);
      droplets.set(spec.id, droplet);
      droplet.failCloudInit = failNextCreate;
      failNextCreate = false;
      try {
        await droplet.boot(true);
      } catch (err) {
        await droplet.destroy();
        droplets.delete(spec.id);
        reserved.delete(ip);
        throw err;
      }
      return { ipv4: ip };
    },
    async powerOff(id) {
      await get(id).halt(false);
    },
    async powerOn(id) {
      const droplet = get(id);
      if (droplet.power === 'off') await droplet.boot(false);
    },
    async shutdown(id) {
      await get(id).halt(true);
    },
    async reboot(id) {
      const droplet = get(id);
      await droplet.halt(true);
      await droplet.boot(false);
    },
    async powerCycle(id) {
      const droplet = get(id);
      await droplet.halt(false);
      await droplet.boot(false);
    },
    async rebuild(id) {
      await get(id).rebuild();
    },
    async destroy(id) {
      const droplet = droplets.get(id);
      if (!droplet) return;
      droplets.delete(id);
      await droplet.destroy();
      reserved.delete(droplet.ip);
    },
    faults: {
      killSupervisor: (id) => void get(id).docker.killSupervisors(),
      stopDocker: (id) => get(id).docker.stop(false),
      fullDisk: (id, on) => void (get(id).diskFull = on),
      sshRefuse: (id) => get(id).setSshMode('refuse'),
      sshHang: (id) => get(id).setSshMode('hang'),
      sshServe: (id) => get(id).setSshMode('serve'),
      dropConnections: (id) => get(id).dropSshConnections(),
      differentHostKey: (id) => get(id).impersonateHostKey(),
      delayBoot: (ms) => void (bootDelayFault = ms),
      failCloudInit: (id) => {
        if (id === undefined) failNextCreate = true;
        else get(id).failCloudInit = true;
      },
      clear: () => {
        bootDelayFault = undefined;
        failNextCreate = false;
        for (const d of droplets.values()) {
          d.diskFull = false;
          d.failCloudInit = false;
          if (d.impostorHostKey) d.restoreHostKey();
          void d.setSshMode('serve');
        }
      },
    },
    inspect(id) {
      const d = get(id);
      return {
        id,
        name: d.spec.name,
        ip: d.ip,
        root: d.root,
        power: d.power,
        cloudInit: {
          status: d.cloudInit.status,
          errors: [...d.cloudInit.errors],
          files: [...d.cloudInit.files],
          packages: [...d.cloudInit.packages],
          packageUpdate: d.cloudInit.packageUpdate,
          packageUpgrade: d.cloudInit.packageUpgrade,
          users: [...d.cloudInit.users],
        },
        dockerRunning: d.docker.running,
        images: [...d.docker.images.keys()],
        pulling: d.docker.pulling,
        containers: [...d.docker.containers.values()].map((c) => ({
          name: c.config.name,
          image: c.config.image,
          state: c.state,
          restartCount: c.restartCount,
          exitCode: c.exitCode,
          health: c.health,
          pid: c.process?.pid,
        })),
        hostCalls: [...d.calls],
        diskFull: d.diskFull,
        ssh: d.sshMode,
        processes: d.processesInside(),
      };
    },
    rootOf(id) {
      return get(id).root;
    },
    probeWorkload(id) {
      return get(id).probeWorkload();
    },
    async close() {
      closed = true;
      const all = [...droplets.values()];
      droplets.clear();
      await Promise.all(all.map((d) => d.destroy()));
      reserved.clear();
      rmSync(options.baseDir, { recursive: true, force: true });
    },
  };
}
