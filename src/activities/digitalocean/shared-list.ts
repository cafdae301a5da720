import { MANAGED_TAG } from '../../shared/ids';
import type { DigitalOceanApi, Droplet } from './client';
import { dropletNotOwnedBecause } from './ownership';

/**
 * One read of every droplet tagged `trigger-ops`, shared by the healthy heal checks of every installation on this
 * worker: 1,000 installations healed every minute cannot each call DigitalOcean (250 requests a minute, 5,000 an
 * hour per token), but one list (200 droplets a page) serves them all. The list is kept for less than a heal
 * interval; concurrent checks wait for the same read. What it serves is only ever "this installation's droplet is
 * active at this address": a droplet it does not show, shows as another installation's, or shows in any other state
 * is read fresh (getDroplet) by the caller, and so is one whose SSH session then fails. Every write through `api`
 * (create, delete, power, resize, rebuild) drops the list, so this worker's own repairs are seen at once; another
 * worker's writes are seen within `ttlMs`.
 */
export interface SharedDropletList {
  /** The DigitalOcean client whose droplet writes drop the list: every activity writes through this one. */
  readonly api: DigitalOceanApi;
  /**
   * The installation's droplet when the shared list shows it active with an address, tagged and named as the
   * installation's; `requests` is how many DigitalOcean requests this lookup itself made (0 when the list was fresh
   * enough or being read for another check). `droplet` undefined: read it fresh.
   */
  lookUpActive(installationId: string, dropletId: number): Promise<{ readonly droplet: Droplet | undefined; readonly requests: number }>;
  /** Forget the list (the next lookup reads it again). */
  invalidate(): void;
}

export interface SharedDropletListOptions {
  /** How long one read serves lookups; shorter than the heal interval, so every cycle sees a new read. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** What the list costs in requests: DigitalOcean pages at most 200 droplets. */
const PAGE_SIZE = 200;

export function createSharedDropletList(inner: DigitalOceanApi, options: SharedDropletListOptions): SharedDropletList {
  const now = options.now ?? Date.now;
  let cached: { readonly at: number; readonly byId: ReadonlyMap<number, Droplet> } | undefined;
  let reading: Promise<ReadonlyMap<number, Droplet>> | undefined;
  // A write bumps the epoch: a read that started before it must not be kept as the list.
  let epoch = 0;

  const invalidate = () => {
    epoch += 1;
    cached = undefined;
    reading = undefined;
  };
  const writing =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        invalidate();
      }
    };

  const api: DigitalOceanApi = {
    ...inner,
    createDroplet: writing(inner.createDroplet),
    deleteDroplet: writing(inner.deleteDroplet),
    deleteDropletsByTag: writing(inner.deleteDropletsByTag),
    dropletAction: writing(inner.dropletAction),
    deleteTag: writing(inner.deleteTag),
  };

  const read = (): { list: Promise<ReadonlyMap<number, Droplet>>; mine: boolean } => {
    if (cached && now() - cached.at < options.ttlMs) return { list: Promise.resolve(cached.byId), mine: false };
    if (reading) return { list: reading, mine: false };
    const startedIn = epoch;
    const startedAt = now();
    const list = inner.listDropletsByTag(MANAGED_TAG).then(
      (droplets) => {
        const byId = new Map(droplets.map((d) => [d.id, d]));
        if (epoch === startedIn) {
          cached = { at: startedAt, byId };
          reading = undefined;
        }
        return byId;
      },
      (err: unknown) => {
        if (epoch === startedIn) reading = undefined;
        throw err;
      },
    );
    reading = list;
    return { list, mine: true };
  };

  return {
    api,
    invalidate,
    async lookUpActive(installationId, dropletId) {
      const { list, mine } = read();
      const byId = await list;
      const requests = mine ? Math.max(1, Math.ceil(byId.size / PAGE_SIZE)) : 0;
      const d = byId.get(dropletId);
      const usable = d !== undefined && d.status === 'active' && d.publicIpv4 !== undefined && dropletNotOwnedBecause(d, installationId) === undefined;
      return { droplet: usable ? d : undefined, requests };
    },
  };
}
