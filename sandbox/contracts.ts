/**
 * Contracts between the parts of the sandbox (sandbox/*), so each can be built and tested on its own and
 * composed by startSandbox() in sandbox/index.ts.
 *
 *   digitalocean/  DigitalOcean API v2 stand-in. Calls a DropletHostDriver when droplets are created, powered,
 *                  rebooted, rebuilt or deleted.
 *   droplets/      The DropletHostDriver that makes droplets real: an SSH server per droplet on its own loopback
 *                  address, each droplet an isolated root in namespaces of its own (isolation.ts) where cloud-init
 *                  and sessions run, stand-ins for docker and host commands, a simulated supervisor.
 *   railway/       Railway GraphQL stand-in (official schema) + the seeded Trigger.dev template project.
 *   webapp/        Trigger.dev webapp stand-in, fed by the Railway stand-in (variables, deployments, logs).
 */

import { releaseTags } from './registry';

/** What the DigitalOcean stand-in knows about a droplet when it asks the host driver to bring one up. */
export interface DropletSpec {
  readonly id: number;
  readonly name: string;
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly tags: readonly string[];
  /** Raw user data as given to POST /v2/droplets (a #cloud-config document for trigger-ops). */
  readonly userData: string | undefined;
  /** OpenSSH public keys of the account SSH keys named in the create request. */
  readonly sshPublicKeys: readonly string[];
}

/**
 * Makes droplets real. The DigitalOcean stand-in awaits each call before it marks the corresponding action
 * completed, so a droplet is `active` only once its host is up. `nullDropletHosts` (no hosts, addresses only)
 * is the default when the stand-in runs alone.
 */
export interface DropletHostDriver {
  /** Allocates the droplet's public IPv4 (its own loopback address, 127.0.0.N) and boots it. */
  create(spec: DropletSpec): Promise<{ readonly ipv4: string }>;
  /** Hard power off: SSH stops answering, processes die. */
  powerOff(id: number): Promise<void>;
  powerOn(id: number): Promise<void>;
  /** Graceful shutdown (ends powered off). */
  shutdown(id: number): Promise<void>;
  reboot(id: number): Promise<void>;
  powerCycle(id: number): Promise<void>;
  /** Wipes the droplet's disk and boots it again from its user data. */
  rebuild(id: number, image: string): Promise<void>;
  /** Gone for good: processes killed, address released, directory removed. */
  destroy(id: number): Promise<void>;
}

/** Addresses only: enough for the DigitalOcean stand-in on its own. */
export function nullDropletHosts(): DropletHostDriver {
  let next = 2;
  const noop = async () => undefined;
  return {
    async create() {
      const n = next++;
      return { ipv4: `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}` };
    },
    powerOff: noop,
    powerOn: noop,
    shutdown: noop,
    reboot: noop,
    powerCycle: noop,
    rebuild: noop,
    destroy: noop,
  };
}

export const SANDBOX_SUPERVISOR_IMAGE = 'ghcr.io/triggerdotdev/supervisor';
export const SANDBOX_WEBAPP_IMAGE = 'ghcr.io/triggerdotdev/trigger.dev';
/**
 * Supervisor release tags the sandbox registry serves (sandbox/registry.ts, from the vendored list of published
 * images), oldest first; it also serves the pre-releases and the floating `v4`/`latest`. Anything else fails to pull
 * as it would on GHCR.
 */
export const SANDBOX_SUPERVISOR_TAGS: readonly string[] = releaseTags(SANDBOX_SUPERVISOR_IMAGE);
/**
 * The webapp version the seeded Railway project runs: one release behind the newest, so a test can upgrade to a tag
 * that exists (the newest) and name one that does not (the next patch).
 */
export const SANDBOX_WEBAPP_TAG = 'v4.5.11';

/**
 * Faults a test can inject. Every stand-in exposes `faults` with at least `failNext(operation, count, how)` and
 * `clear()`; `how` is an HTTP status (DigitalOcean, webapp), a GraphQL error message (Railway), `{ hangMs }` to hang
 * past a client timeout, or `{ latencyMs }` to add latency.
 */
export type FaultKind =
  | { readonly status: number; readonly message?: string; readonly retryAfterSeconds?: number }
  | { readonly graphqlError: string }
  | { readonly hangMs: number }
  | { readonly latencyMs: number };
