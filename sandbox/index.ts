import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/controller/ports';
import { startDigitalOceanApi, type DigitalOceanApiOptions, type DigitalOceanSandbox } from './digitalocean';
import { createDropletHosts, type DropletHosts, type DropletHostsOptions } from './droplets';
import { createLightDropletHosts, type LightDropletHosts } from './droplets/light';
import type { RailwayApiOptions } from './railway';
import { createTimings, type SandboxTimings, type TimingsOption } from './timings';
import { ensureSandboxTls } from './tls';
import { startResendApi, type ResendApi } from './resend';
import { startSesApi, type SesApi } from './ses';
import { startTriggerPlatform, type TriggerPlatform } from './trigger-platform';
import type { Webapp } from './webapp';

export {
  TIMING_NAMES,
  TIMING_PROFILES,
  TIMING_TABLE,
  parseTimingProfile,
  type SandboxTimings,
  type TimingName,
  type TimingProfile,
  type TimingsOption,
} from './timings';

export interface SandboxOptions {
  /** Where droplet roots live; a fresh temporary directory (removed on close) by default. */
  readonly dir?: string;
  /** SSH port of every droplet on its own loopback address; a free port by default. */
  readonly sshPort?: number;
  /**
   * How long things take (docs/sandbox-timings.md): a profile (`fast`, `default`, `realistic`) or
   * `{ profile, force: { imagePull: 90_000 }, seed }`. Wins over `fast`. Default: `default`.
   */
  readonly timings?: TimingsOption;
  /** Shorthand for `timings: 'fast'` (what tests use). */
  readonly fast?: boolean;
  readonly railway?: RailwayApiOptions;
  readonly digitalocean?: Omit<DigitalOceanApiOptions, 'hosts'>;
  readonly droplets?: Omit<DropletHostsOptions, 'baseDir' | 'sshPort'>;
  /**
   * Every droplet DigitalOcean creates is a light one (sandbox/droplets/light.ts): thousands fit in this process,
   * and they answer a healthy heal check only. For the scale bench; `droplets` then has none.
   */
  readonly lightDroplets?: boolean;
  /**
   * Where the sandbox's CA and server certificate are kept: made once there and reused, so a CA that a client was
   * told to trust stays good across restarts. `<dir>/tls` by default (so new with every temporary dir).
   */
  readonly tlsDir?: string;
  /** Fixed ports for the APIs and the webapp (each on 127.0.0.1); free ports by default. */
  readonly ports?: { readonly digitalocean?: number; readonly railway?: number; readonly webapp?: number };
}

export interface Sandbox {
  readonly digitalocean: DigitalOceanSandbox;
  readonly railway: TriggerPlatform['railway'];
  readonly webapp: Webapp;
  /** Resend's send API, where the webapp sends when EMAIL_TRANSPORT=resend (its key: `resend.apiKey`). */
  readonly resend: ResendApi;
  /** Amazon SES v2, where the webapp sends when EMAIL_TRANSPORT=aws-ses (its key pair: `ses.accessKeyId` / `ses.secretAccessKey`). */
  readonly ses: SesApi;
  readonly droplets: DropletHosts;
  /** The light droplets, when `lightDroplets` was asked for. */
  readonly light: LightDropletHosts | undefined;
  /** The timing table in use; `timings.force('imagePull', 90_000, { times: 1 })` changes one duration from now on. */
  readonly timings: SandboxTimings;
  /** Environment variables that point trigger-ops at this sandbox (they contain the stand-ins' tokens). */
  readonly env: Readonly<Record<string, string>>;
  /** Stops everything: no process, port or directory is left behind. */
  close(): Promise<void>;
}

/** One drawn redeploy split into Railway's phases: a quarter queued, the rest building and deploying evenly. */
function deployPhases(totalMs: number): { queuedMs: number; buildingMs: number; deployingMs: number } {
  const queuedMs = Math.round(totalMs / 4);
  const buildingMs = Math.round((totalMs - queuedMs) / 2);
  return { queuedMs, buildingMs, deployingMs: totalMs - queuedMs - buildingMs };
}

/**
 * A whole installation on this machine: DigitalOcean (with droplets you can SSH into), Railway with the Trigger.dev
 * template project, and the webapp. trigger-ops is pointed at it purely through `env`.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'trigger-ops-sandbox-'));
  const sshPort = options.sshPort ?? (await freePort());
  const timings = createTimings(options.timings ?? (options.fast ? 'fast' : 'default'));
  const draw = timings.draw;
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const droplets = createDropletHosts({
      baseDir: join(dir, 'droplets'),
      sshPort,
      supervisorHeartbeatMs: () => draw('supervisorHeartbeat'),
      bootDelayMs: () => draw('dropletBoot'),
      cloudInitDelayMs: () => draw('cloudInit'),
      imagePullMs: () => draw('imagePull'),
      supervisorConnectMs: () => draw('supervisorConnect'),
      ...options.droplets,
    });
    cleanups.push(() => droplets.close());
    const resend = await startResendApi();
    cleanups.push(() => resend.close());
    const ses = await startSesApi();
    cleanups.push(() => ses.close());
    const light = options.lightDroplets
      ? createLightDropletHosts({ baseDir: join(dir, 'light-droplets'), sshPort, heartbeatMs: () => draw('supervisorHeartbeat') })
      : undefined;
    if (light) cleanups.push(() => light.close());
    const platform = await startTriggerPlatform({
      railway: {
        deployTimings: () => deployPhases(draw('railwayRedeploy')),
        ...(options.ports?.railway !== undefined ? { port: options.ports.railway } : {}),
        ...options.railway,
      },
      webapp: { dequeueWaitMs: () => draw('webappDequeueWait'), mail: { resendUrl: resend.url, sesUrl: ses.url }, ...(options.ports?.webapp !== undefined ? { port: options.ports.webapp } : {}) },
    });
    cleanups.push(() => platform.close());
    const tls = ensureSandboxTls(options.tlsDir ?? join(dir, 'tls'));
    const digitalocean = await startDigitalOceanApi({
      hosts: light ?? droplets,
      tls,
      bootDelayMs: () => draw('dropletCreate'),
      actionDelayMs: () => draw('dropletAction'),
      ...(options.ports?.digitalocean !== undefined ? { port: options.ports.digitalocean } : {}),
      ...options.digitalocean,
    });
    cleanups.push(() => digitalocean.close());
    const secretKey = randomBytes(32).toString('base64');
    const env = {
      DIGITALOCEAN_TOKEN: digitalocean.token,
      DIGITALOCEAN_API_URL: digitalocean.url,
      // The stand-in speaks HTTPS with a certificate from the sandbox's own CA: trusted through this, and only this.
      TRIGGER_OPS_CA_CERTS: tls.caPath,
      RAILWAY_API_URL: platform.railway.url,
      RAILWAY_API_TOKEN: platform.railway.accountToken,
      RAILWAY_PROJECT_ID: platform.railway.projectId,
      RAILWAY_ENVIRONMENT_ID: platform.railway.environmentId,
      // What Railway injects into the controller's own service, and the key its template generates.
      RAILWAY_SERVICE_ID: platform.railway.serviceIds.controller,
      TRIGGER_OPS_SECRET_KEY: secretKey,
      TRIGGER_ADMIN_TOKEN: platform.webapp.adminToken,
      DROPLET_SSH_PORT: String(sshPort),
      // Inside DigitalOcean's 250 requests a minute even when a boot takes long.
      TRIGGER_OPS_POLL_INTERVAL_MS: String(timings.pollIntervalMs),
      // The stand-in lists a droplet as soon as it exists (unless a test injects a lag): a short window will do.
      TRIGGER_OPS_CREATE_SETTLE_SECONDS: '5',
    };
    return { digitalocean, railway: platform.railway, webapp: platform.webapp, resend, ses, droplets, light, timings, env, close };
  } catch (err) {
    await close();
    throw err;
  }
}
