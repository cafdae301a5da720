import { findRegion, findSize, type RegionEntry } from './catalog';
import type { ActionRecord, DigitalOceanState, DropletRecord, FirewallRecord, SshKeyRecord } from './state';

/** Records → the JSON bodies the spec describes. */

function regionView(slug: string): RegionEntry | { slug: string; name: string; features: never[]; available: boolean; sizes: never[] } {
  return findRegion(slug) ?? { slug, name: slug, features: [], available: false, sizes: [] };
}

/** A stable private VPC address per droplet (10.110.0.0/20, as a region's default VPC). */
function privateAddress(id: number): string {
  const n = (id % 4000) + 2;
  return `10.110.${Math.floor(n / 256)}.${n % 256}`;
}

/** A stable v6 address per droplet, from the documentation prefix (never routable). */
function ipv6Address(id: number): string {
  return `2001:db8:10::${(id % 65_536).toString(16)}`;
}

/** The next weekly backup window: the coming Sunday, 00:00–04:00 UTC. */
function backupWindow(): { start: string; end: string } {
  const start = new Date();
  start.setUTCHours(0, 0, 0, 0);
  start.setUTCDate(start.getUTCDate() + ((7 - start.getUTCDay()) % 7 || 7));
  const end = new Date(start.getTime() + 4 * 3600_000);
  return { start: start.toISOString().replace(/\.\d{3}Z$/, 'Z'), end: end.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

function loopbackGateway(ip: string): string {
  return ip.replace(/\.\d+$/, '.1');
}

export function dropletView(d: DropletRecord): Record<string, unknown> {
  const size = findSize(d.size);
  return {
    id: d.id,
    name: d.name,
    memory: size?.memory ?? 1024,
    vcpus: size?.vcpus ?? 1,
    disk: size?.disk ?? 25,
    disk_info: size?.disk_info ?? [],
    locked: d.locked,
    status: d.status,
    kernel: null,
    created_at: d.createdAt,
    features: ['droplet_agent', 'private_networking', ...(d.ipv6 ? ['ipv6'] : []), ...(d.monitoring ? ['monitoring'] : []), ...(d.backups ? ['backups'] : [])],
    backup_ids: [],
    next_backup_window: d.backups ? backupWindow() : null,
    snapshot_ids: [...d.snapshotIds],
    image: d.image,
    volume_ids: [],
    size,
    size_slug: d.size,
    networks: {
      v4: d.ipv4
        ? [
            { ip_address: d.ipv4, netmask: '255.255.255.0', gateway: loopbackGateway(d.ipv4), type: 'public' },
            // Every droplet is in a VPC (its region's default one unless vpc_uuid named another).
            { ip_address: privateAddress(d.id), netmask: '255.255.240.0', gateway: '10.110.0.1', type: 'private' },
          ]
        : [],
      v6: d.ipv4 && d.ipv6 ? [{ ip_address: ipv6Address(d.id), netmask: 64, gateway: '2001:db8:10::1', type: 'public' }] : [],
    },
    region: regionView(d.region),
    tags: d.tags,
    vpc_uuid: d.vpcUuid,
  };
}

export function actionView(a: ActionRecord): Record<string, unknown> {
  return {
    id: a.id,
    status: a.status,
    type: a.type,
    started_at: a.startedAt,
    completed_at: a.completedAt,
    resource_id: a.resourceId,
    resource_type: a.resourceType,
    region: regionView(a.regionSlug),
    region_slug: a.regionSlug,
  };
}

export function sshKeyView(k: SshKeyRecord): Record<string, unknown> {
  return { id: k.id, fingerprint: k.fingerprint, public_key: k.publicKey, name: k.name };
}

export function firewallView(f: FirewallRecord): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    status: Date.now() < f.appliedAt ? 'waiting' : 'succeeded',
    created_at: f.createdAt,
    pending_changes: [],
    inbound_rules: f.inboundRules,
    outbound_rules: f.outboundRules,
    droplet_ids: f.dropletIds,
    tags: f.tags,
  };
}

export function tagView(state: DigitalOceanState, name: string, baseUrl: string): Record<string, unknown> {
  const droplets = state.listDroplets(name, undefined);
  const last = droplets.at(-1);
  const lastUri = last ? { last_tagged_uri: `${baseUrl}/v2/droplets/${last.id}` } : {};
  const none = { count: 0 };
  return {
    name,
    resources: {
      count: droplets.length,
      ...lastUri,
      droplets: { count: droplets.length, ...lastUri },
      imgages: none,
      volumes: none,
      volume_snapshots: none,
      databases: none,
    },
  };
}

/** One page of a list, with DigitalOcean's `links.pages` (only the links that make sense) and `meta.total`. */
export function page<T>(
  items: readonly T[],
  query: Record<string, unknown>,
  listUrl: string,
  filters: Record<string, string | undefined> = {},
): { items: T[]; links: Record<string, unknown>; meta: { total: number } } {
  const perPage = typeof query['per_page'] === 'number' ? query['per_page'] : 20;
  const current = typeof query['page'] === 'number' ? query['page'] : 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const url = (n: number) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v !== undefined) params.set(k, v);
    params.set('page', String(n));
    params.set('per_page', String(perPage));
    return `${listUrl}?${params.toString()}`;
  };
  const pages: Record<string, string> = {};
  if (current > 1) {
    pages['first'] = url(1);
    pages['prev'] = url(Math.min(current - 1, lastPage));
  }
  if (current < lastPage) {
    pages['next'] = url(current + 1);
    pages['last'] = url(lastPage);
  }
  return {
    items: items.slice((current - 1) * perPage, current * perPage),
    links: Object.keys(pages).length > 0 ? { pages } : {},
    meta: { total: items.length },
  };
}
