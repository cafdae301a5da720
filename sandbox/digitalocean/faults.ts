import type { FaultKind } from '../contracts';

/**
 * Operation names `failNext` accepts, besides the spec's operationIds (`droplets_create`, `dropletActions_post`, …):
 * - `*`: the next requests, whatever the operation;
 * - `droplet_boot`: the next droplet creates are accepted (202) but their create action ends `errored` and the
 *   droplet never becomes active (only `{ status }` kinds apply);
 * - `droplet_list_lag`: the next droplets created appear in `GET /v2/droplets` (all, by tag or by name) only
 *   `{ latencyMs }` after they exist, as DigitalOcean's lists catch up with a create; `GET /v2/droplets/{id}` shows
 *   them at once.
 * A `{ hangMs }` fault on an operation holds the request and then carries it out: on `droplets_create` with a hang
 * longer than the client's timeout, the droplet is created after the client gave up (an ambiguous create).
 */
export const ANY_OPERATION = '*';
export const DROPLET_BOOT = 'droplet_boot';
export const DROPLET_LIST_LAG = 'droplet_list_lag';

export type DigitalOceanFaultKind = Exclude<FaultKind, { readonly graphqlError: string }>;

export interface DigitalOceanFaults {
  /** The next `count` calls of `operation` fail (or hang, or are slow) as `kind` says; `graphqlError` is refused. */
  failNext(operation: string, count: number, kind: FaultKind): void;
  clear(): void;
}

export class FaultQueue implements DigitalOceanFaults {
  private readonly queued = new Map<string, DigitalOceanFaultKind[]>();

  failNext(operation: string, count: number, kind: FaultKind): void {
    if ('graphqlError' in kind) throw new TypeError('DigitalOcean faults are HTTP faults: use { status }, { hangMs } or { latencyMs }');
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`count must be a positive integer, got ${count}`);
    const list = this.queued.get(operation) ?? [];
    for (let i = 0; i < count; i++) list.push(kind);
    this.queued.set(operation, list);
  }

  clear(): void {
    this.queued.clear();
  }

  /** Takes the fault due for this operation, if any (its own queue first, then `*`). */
  take(operation: string): DigitalOceanFaultKind | undefined {
    for (const name of [operation, ANY_OPERATION]) {
      const list = this.queued.get(name);
      const next = list?.shift();
      if (next) return next;
    }
    return undefined;
  }
}
