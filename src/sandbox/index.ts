import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../local/ports';
import { startDigitalOceanApi, type DigitalOceanApiOptions, type DigitalOceanSandbox } from './digitalocean';
import { createDropletHosts, type DropletHosts, type DropletHostsOptions } from './droplets';
import type { RailwayApiOptions } from './railway';
import { startTriggerPlatform, type TriggerPlatform } from './trigger-platform';
import type { Webapp } from './webapp';

export interface SandboxOptions {
  /** Where droplet roots live; a fresh temporary directory (removed on close) by default. */
  readonly dir?: string;
  /** SSH port of every droplet on its own loopback address; a free port by default. */
  readonly sshPort?: number;
  /** Short timings everywhere (tests); realistic-but-quick ones otherwise. */
  readonly fast?: boolean;
  readonly railway?: RailwayApiOptions;
  readonly digitalocean?: Omit<DigitalOceanApiOptions, 'hosts'>;
  readonly droplets?: Omit<DropletHostsOptions, 'baseDir' | 'sshPort'>;
  /** Fixed ports for the APIs and the webapp (each on 127.0.0.1); free ports by default. */
  readonly ports?: { readonly digitalocean?: number; readonly railway?: number; readonly webapp?: number };
}

export interface Sandbox {
  readonly digitalocean: DigitalOceanSandbox;
  readonly railway: TriggerPlatform['railway'];
  readonly webapp: Webapp;
  readonly droplets: DropletHosts;
  /** Environment variables that point trigger-ops at this sandbox (they contain the stand-ins' tokens). */
  readonly env: Readonly<Record<string, string>>;
  /** Stops everything: no process, port or directory is left behind. */
  close(): Promise<void>;
}

/**
 * A whole installation on this machine: DigitalOcean (with droplets you can SSH into), Railway with the Trigger.dev
 * template project, and the webapp. trigger-ops is pointed at it purely through `env`.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'trigger-ops-sandbox-'));
  const sshPort = options.sshPort ?? (await freePort());
  const fast = options.fast ?? false;
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const droplets = createDropletHosts({
      baseDir: join(dir, 'droplets'),
      sshPort,
      supervisorHeartbeatMs: fast ? 500 : 5000,
      bootDelayMs: fast ? 50 : 1000,
      cloudInitDelayMs: fast ? 50 : 1500,
      ...options.droplets,
    });
    cleanups.push(() => droplets.close());
    const platform = await startTriggerPlatform({
      railway: {
        deployTimings: fast ? { queuedMs: 20, buildingMs: 30, deployingMs: 30 } : { queuedMs: 300, buildingMs: 1200, deployingMs: 800 },
        ...(options.ports?.railway !== undefined ? { port: options.ports.railway } : {}),
        ...options.railway,
      },
      webapp: { dequeueWaitMs: fast ? 200 : 1000, ...(options.ports?.webapp !== undefined ? { port: options.ports.webapp } : {}) },
    });
    cleanups.push(() => platform.close());
    const digitalocean = await startDigitalOceanApi({
      hosts: droplets,
      bootDelayMs: fast ? 100 : 2000,
      actionDelayMs: fast ? 100 : 1000,
      ...(options.ports?.digitalocean !== undefined ? { port: options.ports.digitalocean } : {}),
      ...options.digitalocean,
    });
    cleanups.push(() => digitalocean.close());
    const env = {
      DIGITALOCEAN_TOKEN: digitalocean.token,
      DIGITALOCEAN_API_URL: digitalocean.url,
      RAILWAY_API_URL: platform.railway.url,
      RAILWAY_API_TOKEN: platform.railway.accountToken,
      RAILWAY_PROJECT_ID: platform.railway.projectId,
      RAILWAY_ENVIRONMENT_ID: platform.railway.environmentId,
      TRIGGER_ADMIN_TOKEN: platform.webapp.adminToken,
      DROPLET_SSH_PORT: String(sshPort),
      // Fast, yet inside DigitalOcean's 250 requests a minute even when a boot takes long.
      TRIGGER_OPS_POLL_INTERVAL_MS: fast ? '250' : '1000',
    };
    return { digitalocean, railway: platform.railway, webapp: platform.webapp, droplets, env, close };
  } catch (err) {
    await close();
    throw err;
  }
}
