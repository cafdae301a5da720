import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { MANAGED_TAG, resourceNames } from '../../shared/ids';
import { ErrorType } from '../../shared/errors';
import type { InstallationKeys } from '../secrets/installation-keys';
import { invalidInput, notOwned } from '../failures';
import { pause, progress } from '../heartbeat';
import type { DigitalOceanApi, FirewallRule } from './client';
import { ensureDroplet, type EnsureDropletInput } from './create-droplet';
import { DigitalOceanApiError } from './errors';
import { createOrphanActivities } from './orphans';
import { describeDroplet, dropletNotOwnedBecause, ownedDroplet } from './ownership';

export interface DigitalOceanStepDeps {
  readonly api: DigitalOceanApi;
  readonly keys: InstallationKeys;
  /** The #cloud-config user data of a droplet of this installation (no secrets). */
  readonly buildUserData: (input: { readonly installationId: string; readonly image: string }) => Promise<string>;
  /** How often a wait polls DigitalOcean (well inside 250 requests/minute). */
  readonly pollIntervalMs: number;
  /** How long DigitalOcean may still carry out a create whose answer was lost (TRIGGER_OPS_CREATE_SETTLE_SECONDS). */
  readonly createSettleMs: number;
}

const ANYWHERE = ['0.0.0.0/0', '::/0'];
const OUTBOUND_OPEN: FirewallRule[] = [
  { protocol: 'tcp', ports: '0', addresses: ANYWHERE },
  { protocol: 'udp', ports: '0', addresses: ANYWHERE },
  { protocol: 'icmp', ports: '0', addresses: ANYWHERE },
];

/**
 * DigitalOcean steps: each is idempotent, finding what an earlier attempt created by its deterministic name or tag,
 * and each that deletes, powers or changes a resource first checks that it is the installation's (./ownership.ts).
 */
export function createDigitalOceanActivities(deps: DigitalOceanStepDeps) {
  const { api } = deps;

  return {
    ...createOrphanActivities(deps),

    /** Region, size and image exist and fit together; returns the monthly price. Read-only. */
    async validateDropletPlacement(input: { region: string; size: string; image: string }) {
      const [regions, sizes] = await Promise.all([api.listRegions(), api.listSizes()]);
      const region = regions.find((r) => r.slug === input.region);
      const available = regions.filter((r) => r.available).map((r) => r.slug);
      if (!region || !region.available) {
        throw invalidInput(`region "${input.region}" is not available (accepted: ${available.join(', ')})`);
      }
      const size = sizes.find((s) => s.slug === input.size);
      const sizesHere = sizes.filter((s) => s.available && s.regions.includes(input.region)).map((s) => s.slug);
      if (!size || !size.available || !size.regions.includes(input.region)) {
        throw invalidInput(`size "${input.size}" is not offered in ${input.region} (accepted: ${sizesHere.join(', ')})`);
      }
      try {
        await api.getImage(input.image);
      } catch (err) {
        if (err instanceof Error && 'status' in err && err.status === 404) {
          throw invalidInput(`image "${input.image}" does not exist (e.g. docker-20-04, ubuntu-24-04-x64)`);
        }
        throw err;
      }
      return { monthlyPriceUsd: size.priceMonthly, hourlyPriceUsd: size.priceHourly, regionName: region.name };
    },

    /** The controller's per-installation key, registered at DigitalOcean (found by fingerprint if already there). */
    async ensureSshKey(input: { installationId: string }) {
      const { publicKey } = await deps.keys.controllerKey(input.installationId);
      const name = resourceNames(input.installationId).sshKey;
      const existing = (await api.findSshKeyByName(name)) ?? (await api.findSshKeyByFingerprint(md5Fingerprint(publicKey)));
      if (existing && existing.publicKey.trim().split(' ')[1] === publicKey.trim().split(' ')[1]) {
        return { id: existing.id, fingerprint: existing.fingerprint };
      }
      if (existing) await api.deleteSshKey(existing.id);
      const created = await api.createSshKey({ name, publicKey });
      return { id: created.id, fingerprint: created.fingerprint };
    },

    async deleteSshKey(input: { installationId: string }) {
      const existing = await api.findSshKeyByName(resourceNames(input.installationId).sshKey);
      return { deleted: existing ? await api.deleteSshKey(existing.id) : false };
    },

    /** Inbound SSH only, from the given CIDRs; outbound open; applied to the installation's droplets by tag. */
    async ensureFirewall(input: { installationId: string; sshSourceCidrs: string[] }) {
      const names = resourceNames(input.installationId);
      await api.ensureTag(MANAGED_TAG);
      await api.ensureTag(names.tag);
      const existing = await api.findFirewallByName(names.firewall);
      if (existing) return { id: existing.id };
      const created = await api.createFirewall({
        name: names.firewall,
        inboundRules: [{ protocol: 'tcp', ports: '22', addresses: input.sshSourceCidrs }],
        outboundRules: OUTBOUND_OPEN,
        tags: [names.tag],
      });
      return { id: created.id };
    },

    async deleteFirewall(input: { installationId: string }) {
      const existing = await api.findFirewallByName(resourceNames(input.installationId).firewall);
      return { deleted: existing ? await api.deleteFirewall(existing.id) : false };
    },

    /** Finds the generation's droplet under the installation tag or by name, or creates it: never two (./create-droplet.ts). */
    async ensureDroplet(input: EnsureDropletInput) {
      return ensureDroplet(deps, input);
    },

    /** Polls until the droplet is active with a public IPv4, heartbeating; a deleted droplet is a NotFound. */
    async waitForDropletActive(input: { dropletId: number; timeoutSeconds: number }) {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      for (;;) {
        const droplet = await api.getDroplet(input.dropletId).catch(async (err: unknown) => {
          // Rate limited while waiting: wait as told and look again, rather than failing the whole wait.
          if (err instanceof DigitalOceanApiError && err.status === 429 && Date.now() < deadline) {
            progress({ rateLimited: err.retryAfterSeconds ?? 5 });
            await pause(Math.min((err.retryAfterSeconds ?? 5) * 1000, Math.max(0, deadline - Date.now())));
            return undefined;
          }
          throw err;
        });
        if (!droplet) continue;
        progress({ status: droplet.status });
        if (droplet.status === 'active' && droplet.publicIpv4) return { ipv4: droplet.publicIpv4 };
        if (Date.now() > deadline) {
          throw ApplicationFailure.nonRetryable(
            `droplet ${input.dropletId} was still "${droplet.status}" after ${input.timeoutSeconds}s`,
            ErrorType.Unavailable,
          );
        }
        await pause(deps.pollIntervalMs);
      }
    },

    /** A power action on one of the installation's droplets, waited for until DigitalOcean reports it completed. */
    async powerDroplet(input: { installationId: string; dropletId: number; action: 'power_on' | 'power_cycle'; timeoutSeconds: number }) {
      if (!(await ownedDroplet(api, input.installationId, input.dropletId))) {
        throw ApplicationFailure.nonRetryable(`droplet ${input.dropletId} does not exist: nothing to ${input.action}`, ErrorType.NotFound);
      }
      const action = await api.dropletAction(input.dropletId, { type: input.action });
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let current = action;
      while (current.status === 'in-progress' && Date.now() < deadline) {
        progress({ action: current.status });
        await pause(deps.pollIntervalMs);
        current = await api.getAction(action.id);
      }
      if (current.status !== 'completed') {
        throw ApplicationFailure.nonRetryable(`${input.action} of droplet ${input.dropletId} ended ${current.status}`, ErrorType.Unavailable);
      }
      return { completed: true };
    },

    /**
     * Every droplet of the installation (all generations): tagged and named as its own. A droplet that only carries
     * the tag is not deleted; it is named in `kept`.
     */
    async deleteDroplets(input: { installationId: string }) {
      const tagged = await api.listDropletsByTag(resourceNames(input.installationId).tag);
      let deleted = 0;
      const kept: string[] = [];
      for (const d of tagged) {
        if (dropletNotOwnedBecause(d, input.installationId)) kept.push(describeDroplet(d));
        else if (await api.deleteDroplet(d.id)) deleted += 1;
      }
      return { deleted, kept };
    },

    /** The droplet of one generation, found by its deterministic name under the installation tag (rollback). */
    async deleteDropletByName(input: { installationId: string; name: string }) {
      const names = resourceNames(input.installationId);
      if (names.generationOf(input.name) === undefined) {
        throw notOwned(`droplet name "${input.name}"`, input.installationId, `it is not ${names.dropletPattern}`);
      }
      const droplets = await api.listDropletsByTag(names.tag);
      let deleted = 0;
      for (const d of droplets.filter((x) => x.name === input.name)) if (await api.deleteDroplet(d.id)) deleted += 1;
      return { deleted };
    },

    /** One droplet of the installation, e.g. the old one after a migration; one that is gone already is not an error. */
    async deleteDroplet(input: { installationId: string; dropletId: number }) {
      const droplet = await ownedDroplet(api, input.installationId, input.dropletId);
      return { deleted: droplet ? await api.deleteDroplet(droplet.id) : false };
    },

    /** Read-only: whether the droplet still exists; refuses (NotOwned) one that is not the installation's. */
    async checkDropletOwnership(input: { installationId: string; dropletId: number }) {
      return { exists: (await ownedDroplet(api, input.installationId, input.dropletId)) !== undefined };
    },

    /** The installation's tag, deleted last at teardown (DigitalOcean untags whatever still carries it). */
    async deleteInstallationTag(input: { installationId: string }) {
      return { deleted: await api.deleteTag(resourceNames(input.installationId).tag) };
    },

    /** What the installation already has at DigitalOcean (read-only; `deploy --plan`). */
    async inspectInstallationResources(input: { installationId: string }) {
      const names = resourceNames(input.installationId);
      const [droplets, firewall, sshKey] = await Promise.all([
        api.listDropletsByTag(names.tag),
        api.findFirewallByName(names.firewall),
        api.findSshKeyByName(names.sshKey),
      ]);
      return {
        droplets: droplets.map((d) => ({ id: d.id, name: d.name, status: d.status })),
        firewall: firewall ? { id: firewall.id, name: firewall.name } : null,
        sshKey: sshKey ? { id: sshKey.id, name: sshKey.name } : null,
      };
    },

    async listInstallationDroplets(input: { installationId: string }) {
      const droplets = await api.listDropletsByTag(resourceNames(input.installationId).tag);
      return droplets.map((d) => ({ id: d.id, name: d.name, status: d.status, ipv4: d.publicIpv4 ?? null, size: d.size, region: d.region }));
    },
  };
}

/** DigitalOcean's key fingerprint: MD5 of the key blob, colon-separated hex. */
function md5Fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}
