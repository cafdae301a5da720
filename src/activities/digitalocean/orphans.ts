import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../../shared/errors';
import { resourceNames } from '../../shared/ids';
import type { OrphanResource } from '../../shared/lifecycle';
import { BOUNDS } from '../../shared/activity-contract';
import { invalidInput, notOwned } from '../failures';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { DigitalOceanApi, Firewall, SshKey } from './client';
import { dropletNotOwnedBecause, ownedDroplet } from './ownership';

export interface OrphanDeps {
  readonly api: DigitalOceanApi;
  readonly keys: InstallationKeys;
}

interface SweepInput {
  installationId: string;
  /** The desired droplet: never an orphan. */
  keepDropletId: number;
}

type OrphanRef = Pick<OrphanResource, 'kind' | 'id' | 'name'>;

const keyBlob = (publicKey: string) => publicKey.trim().split(/\s+/)[1] ?? '';
/** The firewall ensureFirewall finds (the first of that name): the desired one. */
const keptFirewall = (firewalls: readonly Firewall[], name: string) => firewalls.find((f) => f.name === name);

/**
 * The orphan sweep's two steps: find what carries the installation's tag or name but is not desired (read-only), and
 * remove given orphans after checking each again (owned, still not desired). Heal decides when (the grace period).
 */
export function createOrphanActivities(deps: OrphanDeps) {
  const { api } = deps;
  const controllerBlob = async (installationId: string) => keyBlob((await deps.keys.controllerKey(installationId)).publicKey);
  const strayKey = (key: SshKey, name: string, blob: string) => key.name === name && keyBlob(key.publicKey) !== blob;

  return {
    /** Read-only: droplets of other generations or duplicates, second firewalls, stale keys, and tag-only droplets. */
    async findOrphans(input: SweepInput): Promise<{ orphans: OrphanResource[] }> {
      const names = resourceNames(input.installationId);
      const [droplets, firewalls, keys, blob] = await Promise.all([
        api.listDropletsByTag(names.tag),
        api.listFirewalls(),
        api.listSshKeys(),
        controllerBlob(input.installationId),
      ]);
      const desired = droplets.find((d) => d.id === input.keepDropletId);
      const orphans: OrphanResource[] = [];
      for (const d of droplets.filter((x) => x.id !== input.keepDropletId)) {
        const foreign = dropletNotOwnedBecause(d, input.installationId);
        const reason = foreign
          ? `carries ${names.tag} but ${foreign}: not trigger-ops's to remove`
          : d.name === desired?.name
            ? `a second droplet named ${d.name} (the desired one is ${input.keepDropletId})`
            : `not the desired droplet ${input.keepDropletId}${desired ? ` (${desired.name})` : ''}`;
        orphans.push({ kind: 'droplet', id: String(d.id), name: d.name, reason, removable: !foreign });
      }
      const kept = keptFirewall(firewalls, names.firewall);
      for (const f of firewalls) {
        if (f.name === names.firewall && f !== kept) {
          orphans.push({ kind: 'firewall', id: f.id, name: f.name, reason: `a second firewall named ${f.name} (the desired one is ${kept?.id ?? '?'})`, removable: true });
        } else if (f.name !== names.firewall && f.tags.includes(names.tag)) {
          orphans.push({ kind: 'firewall', id: f.id, name: f.name, reason: `applies to ${names.tag} but its name is not ${names.firewall}: not trigger-ops's to remove`, removable: false });
        }
      }
      for (const k of keys.filter((x) => strayKey(x, names.sshKey, blob))) {
        orphans.push({ kind: 'sshKey', id: String(k.id), name: k.name, reason: `another public key than the controller's (${k.fingerprint})`, removable: true });
      }
      return { orphans };
    },

    /** Removes the given orphans, each checked again; one that is gone already is counted as such. */
    async deleteOrphans(input: SweepInput & { orphans: OrphanRef[] }): Promise<{ deleted: OrphanRef[]; gone: OrphanRef[] }> {
      if (input.orphans.length > BOUNDS.orphansPerSweep) {
        throw invalidInput(`orphans: at most ${BOUNDS.orphansPerSweep} per call, got ${input.orphans.length}`);
      }
      const names = resourceNames(input.installationId);
      const deleted: OrphanRef[] = [];
      const gone: OrphanRef[] = [];
      for (const orphan of input.orphans) {
        const removed = await removeOne(orphan);
        (removed ? deleted : gone).push({ kind: orphan.kind, id: orphan.id, name: orphan.name });
      }
      return { deleted, gone };

      async function removeOne(orphan: OrphanRef): Promise<boolean> {
        switch (orphan.kind) {
          case 'droplet': {
            if (Number(orphan.id) === input.keepDropletId) {
              throw ApplicationFailure.nonRetryable(`droplet ${orphan.id} is the installation's desired droplet: never swept`, ErrorType.InvalidInput);
            }
            const droplet = await ownedDroplet(api, input.installationId, Number(orphan.id));
            return droplet ? api.deleteDroplet(droplet.id) : false;
          }
          case 'firewall': {
            const firewalls = await api.listFirewalls();
            const firewall = firewalls.find((f) => f.id === orphan.id);
            if (!firewall) return false;
            if (firewall.name !== names.firewall) throw notOwned(`firewall ${firewall.id} ("${firewall.name}")`, input.installationId, `its name is not ${names.firewall}`);
            if (firewall === keptFirewall(firewalls, names.firewall)) {
              throw ApplicationFailure.nonRetryable(`firewall ${firewall.id} is the installation's desired firewall: never swept`, ErrorType.InvalidInput);
            }
            return api.deleteFirewall(firewall.id);
          }
          case 'sshKey': {
            const key = (await api.listSshKeys()).find((k) => String(k.id) === orphan.id);
            if (!key) return false;
            if (key.name !== names.sshKey) throw notOwned(`SSH key ${key.id} ("${key.name}")`, input.installationId, `its name is not ${names.sshKey}`);
            if (!strayKey(key, names.sshKey, await controllerBlob(input.installationId))) {
              throw ApplicationFailure.nonRetryable(`SSH key ${key.id} is the installation's controller key: never swept`, ErrorType.InvalidInput);
            }
            return api.deleteSshKey(key.id);
          }
        }
      }
    },
  };
}
