import { modules } from 'dots-wrapper';
import { z } from 'zod';
import { DigitalOceanApiError, toDigitalOceanError } from './errors';
import { BOUNDS } from '../../shared/activity-contract';
import { httpsAgentTrusting } from '../tls-trust';
import { meterExternalCall } from '../call-meter';

// The one file that knows dots-wrapper. Everything else sees DigitalOceanApi and its plain types; every response is
// parsed with zod, so a surprise in DigitalOcean's answer is a clear error here rather than an undefined later.

export const DEFAULT_DIGITALOCEAN_API_URL = 'https://api.digitalocean.com';
const DEFAULT_TIMEOUT_MS = BOUNDS.digitaloceanRequestMs;
const PER_PAGE = 200;

export interface DigitalOceanClientOptions {
  readonly token: string;
  /** Base URL without /v2 (DIGITALOCEAN_API_URL); the sandbox's url in tests. */
  readonly apiUrl?: string;
  readonly timeoutMs?: number;
  /** CA certificates (PEM) trusted besides the system roots (the file TRIGGER_OPS_CA_CERTS names). */
  readonly ca?: string;
}

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';
export type ActionStatus = 'in-progress' | 'completed' | 'errored';
export type DropletActionRequest =
  | { readonly type: 'power_on' | 'power_off' | 'shutdown' | 'reboot' | 'power_cycle' }
  | { readonly type: 'resize'; readonly size: string; readonly disk?: boolean }
  | { readonly type: 'rebuild'; readonly image: string };

const accountSchema = z.object({ email: z.string(), uuid: z.string(), status: z.string(), droplet_limit: z.number() });
const regionSchema = z.object({ slug: z.string(), name: z.string(), available: z.boolean(), sizes: z.array(z.string()) });
const sizeSchema = z.object({
  slug: z.string(),
  vcpus: z.number(),
  memory: z.number(),
  disk: z.number(),
  price_monthly: z.number(),
  price_hourly: z.number(),
  regions: z.array(z.string()),
  available: z.boolean(),
});
const imageSchema = z.object({
  id: z.number(),
  slug: z.string().nullable().optional(),
  name: z.string().optional(),
  distribution: z.string().optional(),
  status: z.string().optional(),
});
const sshKeySchema = z.object({ id: z.number(), name: z.string(), fingerprint: z.string(), public_key: z.string() });
const ruleSchema = z.object({
  protocol: z.enum(['tcp', 'udp', 'icmp']),
  ports: z.string(),
  sources: z.object({ addresses: z.array(z.string()).optional(), tags: z.array(z.string()).nullable().optional() }).optional(),
  destinations: z.object({ addresses: z.array(z.string()).optional(), tags: z.array(z.string()).nullable().optional() }).optional(),
});
const firewallSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  droplet_ids: z.array(z.number()).nullable().optional(),
  tags: z.array(z.string()).nullable().optional(),
  inbound_rules: z.array(ruleSchema).nullable().optional(),
  outbound_rules: z.array(ruleSchema).nullable().optional(),
});
const dropletSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.enum(['new', 'active', 'off', 'archive']),
  locked: z.boolean(),
  created_at: z.string(),
  size_slug: z.string(),
  vcpus: z.number(),
  memory: z.number(),
  tags: z.array(z.string()),
  region: z.object({ slug: z.string() }),
  image: z.object({ slug: z.string().nullable().optional() }),
  networks: z.object({ v4: z.array(z.object({ ip_address: z.string(), type: z.enum(['public', 'private']) })) }),
});
const actionSchema = z.object({
  id: z.number(),
  type: z.string(),
  status: z.enum(['in-progress', 'completed', 'errored']),
  resource_id: z.number().nullable().optional(),
  completed_at: z.string().nullable().optional(),
});
const pagesSchema = z.object({ links: z.object({ pages: z.object({ next: z.string().optional() }).optional() }).optional() });

export interface Account {
  readonly email: string;
  readonly uuid: string;
  readonly status: string;
  readonly dropletLimit: number;
}
export interface Region {
  readonly slug: string;
  readonly name: string;
  readonly available: boolean;
  readonly sizes: readonly string[];
}
export interface Size {
  readonly slug: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly priceMonthly: number;
  readonly priceHourly: number;
  readonly regions: readonly string[];
  readonly available: boolean;
}
export interface Image {
  readonly id: number;
  readonly slug: string | undefined;
  readonly name: string | undefined;
  readonly distribution: string | undefined;
  readonly status: string | undefined;
}
export interface SshKey {
  readonly id: number;
  readonly name: string;
  readonly fingerprint: string;
  readonly publicKey: string;
}
export interface FirewallRule {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** "22", "8000-9000", or "0" for all. */
  readonly ports: string;
  readonly addresses?: readonly string[];
}
export interface Firewall {
  readonly id: string;
  readonly name: string;
  readonly dropletIds: readonly number[];
  readonly tags: readonly string[];
  readonly inboundRules: readonly FirewallRule[];
  readonly outboundRules: readonly FirewallRule[];
}
export interface CreateFirewallInput {
  readonly name: string;
  readonly inboundRules: readonly FirewallRule[];
  readonly outboundRules: readonly FirewallRule[];
  readonly dropletIds?: readonly number[];
  readonly tags?: readonly string[];
}
export interface Droplet {
  readonly id: number;
  readonly name: string;
  readonly status: DropletStatus;
  readonly locked: boolean;
  readonly createdAt: string;
  readonly region: string;
  readonly size: string;
  /** The size's vCPUs and memory (MiB), as DigitalOcean reports them on the droplet. */
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly image: string | undefined;
  readonly tags: readonly string[];
  /** Undefined until the create action has completed. */
  readonly publicIpv4: string | undefined;
}
export interface CreateDropletInput {
  readonly name: string;
  readonly region: string;
  readonly size: string;
  readonly image: string;
  /** Ids or fingerprints of account SSH keys. */
  readonly sshKeys?: readonly (number | string)[];
  readonly tags?: readonly string[];
  readonly userData?: string;
  /** DigitalOcean's metrics agent. */
  readonly monitoring?: boolean;
}
export interface Action {
  readonly id: number;
  readonly type: string;
  readonly status: ActionStatus;
  readonly resourceId: number | undefined;
  readonly completedAt: string | undefined;
}

/** What the controller needs from DigitalOcean, and no more. Deletes tolerate "already gone" (they return false). */
export interface DigitalOceanApi {
  getAccount(): Promise<Account>;
  listRegions(): Promise<Region[]>;
  getRegion(slug: string): Promise<Region | undefined>;
  listSizes(): Promise<Size[]>;
  getSize(slug: string): Promise<Size | undefined>;
  /** Throws a 404 DigitalOceanApiError when the slug is unknown. */
  getImage(slug: string): Promise<Image>;
  listSshKeys(): Promise<SshKey[]>;
  findSshKeyByName(name: string): Promise<SshKey | undefined>;
  findSshKeyByFingerprint(fingerprint: string): Promise<SshKey | undefined>;
  createSshKey(input: { readonly name: string; readonly publicKey: string }): Promise<SshKey>;
  deleteSshKey(idOrFingerprint: number | string): Promise<boolean>;
  ensureTag(name: string): Promise<void>;
  /** Deletes a tag (DigitalOcean untags whatever carried it); false when it did not exist. */
  deleteTag(name: string): Promise<boolean>;
  createFirewall(input: CreateFirewallInput): Promise<Firewall>;
  listFirewalls(): Promise<Firewall[]>;
  /** The first firewall of that name, as DigitalOcean lists them. */
  findFirewallByName(name: string): Promise<Firewall | undefined>;
  addDropletsToFirewall(firewallId: string, dropletIds: readonly number[]): Promise<void>;
  deleteFirewall(firewallId: string): Promise<boolean>;
  createDroplet(input: CreateDropletInput): Promise<{ readonly droplet: Droplet; readonly createActionId: number | undefined }>;
  getDroplet(id: number): Promise<Droplet>;
  /** Every droplet with the tag, across all pages. */
  listDropletsByTag(tag: string): Promise<Droplet[]>;
  /** Every droplet with this name (exact, case-insensitive, as DigitalOcean's `name` filter matches), any tags. */
  listDropletsByName(name: string): Promise<Droplet[]>;
  deleteDropletsByTag(tag: string): Promise<void>;
  deleteDroplet(id: number): Promise<boolean>;
  dropletAction(dropletId: number, action: DropletActionRequest): Promise<Action>;
  getAction(id: number): Promise<Action>;
}

function toDroplet(d: z.infer<typeof dropletSchema>): Droplet {
  const { id, name, status, locked, tags, vcpus } = d;
  const publicIpv4 = d.networks.v4.find((n) => n.type === 'public')?.ip_address;
  return { id, name, status, locked, tags, vcpus, createdAt: d.created_at, region: d.region.slug, size: d.size_slug, memoryMb: d.memory, image: d.image.slug ?? undefined, publicIpv4 };
}

function toAction(a: z.infer<typeof actionSchema>): Action {
  return { id: a.id, type: a.type, status: a.status, resourceId: a.resource_id ?? undefined, completedAt: a.completed_at ?? undefined };
}

function toSshKey(k: z.infer<typeof sshKeySchema>): SshKey {
  return { id: k.id, name: k.name, fingerprint: k.fingerprint, publicKey: k.public_key };
}

function toSize(s: z.infer<typeof sizeSchema>): Size {
  const { slug, vcpus, regions, available } = s;
  return { slug, vcpus, regions, available, memoryMb: s.memory, diskGb: s.disk, priceMonthly: s.price_monthly, priceHourly: s.price_hourly };
}

function toRule(r: z.infer<typeof ruleSchema>): FirewallRule {
  const addresses = (r.sources ?? r.destinations)?.addresses;
  return { protocol: r.protocol, ports: r.ports, ...(addresses ? { addresses } : {}) };
}

function toFirewall(f: z.infer<typeof firewallSchema>): Firewall {
  return {
    id: f.id,
    name: f.name,
    dropletIds: f.droplet_ids ?? [],
    tags: f.tags ?? [],
    inboundRules: (f.inbound_rules ?? []).map(toRule),
    outboundRules: (f.outbound_rules ?? []).map(toRule),
  };
}

function inboundRule(rule: FirewallRule) {
  return { protocol: rule.protocol, ports: rule.ports, sources: { addresses: [...(rule.addresses ?? [])] } };
}

function outboundRule(rule: FirewallRule) {
  return { protocol: rule.protocol, ports: rule.ports, destinations: { addresses: [...(rule.addresses ?? [])] } };
}

/** The DigitalOcean adapter, over dots-wrapper. */
export function createDigitalOceanApi(options: DigitalOceanClientOptions): DigitalOceanApi {
  const base = (options.apiUrl ?? DEFAULT_DIGITALOCEAN_API_URL).replace(/\/+$/, '').replace(/\/v2$/, '');
  const httpsAgent = options.ca === undefined ? undefined : httpsAgentTrusting(options.ca);
  // dots-wrapper's own createApiClient, with its context's axios instance given our agent: the library has no agent
  // option, and only this client (not the process's global agent) trusts the extra CA.
  const createApiClient = modules.common.createApiClient({
    modules,
    createContext: (input) => {
      const context = modules.common.createContext(input);
      if (httpsAgent) context.httpClient.defaults.httpsAgent = httpsAgent;
      return context;
    },
  });
  const dots = createApiClient({ token: options.token, endpoint: `${base}/v2`, requestTimeoutInMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });

  /** Runs one call, maps transport errors, and parses `data` with the schema. */
  async function call<S extends z.ZodType>(operation: string, schema: S, send: () => Promise<{ data: unknown }>): Promise<z.infer<S>> {
    let data: unknown;
    try {
      data = (await meterExternalCall('digitalocean', send)).data;
    } catch (err) {
      throw toDigitalOceanError(operation, err);
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
      throw new DigitalOceanApiError(operation, `DigitalOcean ${operation}: unexpected response (${where})`, { code: 'bad_response' });
    }
    return parsed.data;
  }

  async function ignoreNotFound(run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      if (err instanceof DigitalOceanApiError && err.status === 404) return false;
      throw err;
    }
  }

  async function orUndefined<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DigitalOceanApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Follows links.pages.next with the largest page size DigitalOcean allows. */
  async function listAll<T>(operation: string, key: string, item: z.ZodType<T>, fetch: (page: number) => Promise<{ data: unknown }>): Promise<T[]> {
    const items = z.object({ [key]: z.array(item) });
    const all: T[] = [];
    for (let page = 1; ; page++) {
      const data = await call(operation, z.unknown(), () => fetch(page));
      const list = items.safeParse(data);
      const links = pagesSchema.safeParse(data);
      if (!list.success || !links.success) {
        throw new DigitalOceanApiError(operation, `DigitalOcean ${operation}: unexpected response (no ${key} list)`, { code: 'bad_response' });
      }
      all.push(...(list.data[key] ?? []));
      if (!links.data.links?.pages?.next) return all;
    }
  }

  const dropletData = z.object({ droplet: dropletSchema });
  const actionData = z.object({ action: actionSchema });
  const empty = z.unknown();

  const api: DigitalOceanApi = {
    async getAccount() {
      const { account } = await call('getAccount', z.object({ account: accountSchema }), () => dots.account.getAccount());
      return { email: account.email, uuid: account.uuid, status: account.status, dropletLimit: account.droplet_limit };
    },
    listRegions: () => listAll('listRegions', 'regions', regionSchema, (page) => dots.region.listRegions({ page, per_page: PER_PAGE })),
    async getRegion(slug) {
      return (await api.listRegions()).find((r) => r.slug === slug);
    },
    async listSizes() {
      const sizes = await listAll('listSizes', 'sizes', sizeSchema, (page) => dots.size.listSizes({ page, per_page: PER_PAGE }));
      return sizes.map(toSize);
    },
    async getSize(slug) {
      return (await api.listSizes()).find((s) => s.slug === slug);
    },
    async getImage(slug) {
      const { image } = await call('getImage', z.object({ image: imageSchema }), () => dots.image.getImage({ slug }));
      return { id: image.id, slug: image.slug ?? undefined, name: image.name, distribution: image.distribution, status: image.status };
    },
    async listSshKeys() {
      const keys = await listAll('listSshKeys', 'ssh_keys', sshKeySchema, (page) => dots.sshKey.listSshKeys({ page, per_page: PER_PAGE }));
      return keys.map(toSshKey);
    },
    async findSshKeyByName(name) {
      return (await api.listSshKeys()).find((k) => k.name === name);
    },
    findSshKeyByFingerprint: (fingerprint) =>
      orUndefined(async () => {
        const data = await call('getSshKey', z.object({ ssh_key: sshKeySchema }), () => dots.sshKey.getSshKey({ ssh_key_id: fingerprint }));
        return toSshKey(data.ssh_key);
      }),
    async createSshKey({ name, publicKey }) {
      const data = await call('createSshKey', z.object({ ssh_key: sshKeySchema }), () =>
        dots.sshKey.createSshKey({ name, public_key: publicKey }),
      );
      return toSshKey(data.ssh_key);
    },
    deleteSshKey: (idOrFingerprint) =>
      ignoreNotFound(() => call('deleteSshKey', empty, () => dots.sshKey.destroySshKey({ ssh_key_id: idOrFingerprint }))),
    async ensureTag(name) {
      const exists = await orUndefined(() => call('getTag', empty, () => dots.tag.getTag({ tag_name: name })));
      if (exists === undefined) await call('createTag', empty, () => dots.tag.createTag({ name }));
    },
    deleteTag: (name) => ignoreNotFound(() => call('deleteTag', empty, () => dots.tag.deleteTag({ tag_name: name }))),
    async createFirewall(input) {
      const data = await call('createFirewall', z.object({ firewall: firewallSchema }), () =>
        dots.firewall.createFirewall({
          name: input.name,
          inbound_rules: input.inboundRules.map(inboundRule),
          outbound_rules: input.outboundRules.map(outboundRule),
          droplet_ids: [...(input.dropletIds ?? [])],
          tags: [...(input.tags ?? [])],
        }),
      );
      return toFirewall(data.firewall);
    },
    async listFirewalls() {
      const all = await listAll('listFirewalls', 'firewalls', firewallSchema, (page) =>
        dots.firewall.listFirewalls({ page, per_page: PER_PAGE }),
      );
      return all.map(toFirewall);
    },
    async findFirewallByName(name) {
      return (await api.listFirewalls()).find((f) => f.name === name);
    },
    async addDropletsToFirewall(firewallId, dropletIds) {
      await call('addDropletsToFirewall', empty, () =>
        dots.firewall.addDropletsToFirewall({ firewall_id: firewallId, droplet_ids: [...dropletIds] }),
      );
    },
    deleteFirewall: (firewallId) =>
      ignoreNotFound(() => call('deleteFirewall', empty, () => dots.firewall.deleteFirewall({ firewall_id: firewallId }))),
    async createDroplet(input) {
      const schema = z.object({
        droplet: dropletSchema,
        links: z.object({ actions: z.array(z.object({ id: z.number() })).optional() }).optional(),
      });
      const data = await call('createDroplet', schema, () =>
        dots.droplet.createDroplet({
          name: input.name,
          region: input.region,
          size: input.size,
          image: input.image,
          ...(input.sshKeys ? { ssh_keys: [...input.sshKeys] } : {}),
          ...(input.tags ? { tags: [...input.tags] } : {}),
          ...(input.userData === undefined ? {} : { user_data: input.userData }),
          ...(input.monitoring === undefined ? {} : { monitoring: input.monitoring }),
        }),
      );
      return { droplet: toDroplet(data.droplet), createActionId: data.links?.actions?.[0]?.id };
    },
    async getDroplet(id) {
      return toDroplet((await call('getDroplet', dropletData, () => dots.droplet.getDroplet({ droplet_id: id }))).droplet);
    },
    async listDropletsByTag(tag) {
      const all = await listAll('listDroplets', 'droplets', dropletSchema, (page) =>
        dots.droplet.listDroplets({ tag_name: tag, page, per_page: PER_PAGE }),
      );
      return all.map(toDroplet);
    },
    async listDropletsByName(name) {
      // dots-wrapper sends no `name` filter: every droplet is listed and matched here as the filter would match.
      const all = await listAll('listDroplets', 'droplets', dropletSchema, (page) => dots.droplet.listDroplets({ page, per_page: PER_PAGE }));
      return all.filter((d) => d.name.toLowerCase() === name.toLowerCase()).map(toDroplet);
    },
    async deleteDropletsByTag(tag) {
      await ignoreNotFound(() => call('deleteDropletsByTag', empty, () => dots.droplet.deleteDropletsByTag({ tag_name: tag })));
    },
    deleteDroplet: (id) => ignoreNotFound(() => call('deleteDroplet', empty, () => dots.droplet.deleteDroplet({ droplet_id: id }))),
    async dropletAction(dropletId, action) {
      const send = () => {
        switch (action.type) {
          case 'power_on':
            return dots.droplet.powerOnDroplet({ droplet_id: dropletId });
          case 'power_off':
            return dots.droplet.powerOffDroplet({ droplet_id: dropletId });
          case 'shutdown':
            return dots.droplet.shutdownDroplet({ droplet_id: dropletId });
          case 'reboot':
            return dots.droplet.rebootDroplet({ droplet_id: dropletId });
          case 'power_cycle':
            return dots.droplet.powerCycleDroplet({ droplet_id: dropletId });
          case 'resize':
            return dots.droplet.resizeDroplet({ droplet_id: dropletId, size: action.size, disk: action.disk ?? false });
          case 'rebuild':
            return dots.droplet.rebuildDroplet({ droplet_id: dropletId, image: action.image });
        }
      };
      return toAction((await call(`dropletAction ${action.type}`, actionData, send)).action);
    },
    async getAction(id) {
      return toAction((await call('getAction', actionData, () => dots.action.getAction({ action_id: id }))).action);
    },
  };
  return api;
}
