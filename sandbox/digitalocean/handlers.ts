import { ApiError, notFound, unprocessable } from './api-error';
import { ACCOUNT, findImage, IMAGES, REGIONS, SIZES } from './catalog';
import type { DigitalOceanState, FirewallInput, FirewallRule } from './state';
import { DROPLET_METRICS, dropletMetrics, type DropletMetric } from './metrics';
import { actionView, dropletView, firewallView, page, sshKeyView, tagView } from './views';

/** What a handler sees: path and query already coerced, and the body already checked against the spec. */
export interface HandlerContext {
  readonly pathParams: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  /** Request headers, lower-cased (the spec's header parameters are the handler's to check). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly baseUrl: string;
  /** A `droplet_boot` fault is due: this create's action ends errored. */
  readonly bootFails: () => boolean;
  /** How long this create's droplet stays out of lists (a `droplet_list_lag` fault; 0 when none is due). */
  readonly listLagMs: () => number;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

export type Handler = (state: DigitalOceanState, ctx: HandlerContext) => Reply;

// Body shapes, as far as the handlers read them; the spec check has already run.
interface DropletCreateBody {
  name?: string;
  names?: string[];
  size: string;
  image: string | number;
  region?: string;
  ssh_keys?: (string | number)[];
  tags?: string[] | null;
  user_data?: string;
  vpc_uuid?: string;
  backups?: boolean;
  ipv6?: boolean;
  monitoring?: boolean;
}
interface FirewallBody {
  name: string;
  inbound_rules?: FirewallRule[] | null;
  outbound_rules?: FirewallRule[] | null;
  droplet_ids?: number[] | null;
  tags?: string[] | null;
}

function body<T>(ctx: HandlerContext): T {
  return ctx.body as T;
}

function param(ctx: HandlerContext, name: string): string {
  return String(ctx.pathParams[name]);
}

function numberParam(ctx: HandlerContext, name: string): number {
  return Number(ctx.pathParams[name]);
}

function queryString(ctx: HandlerContext, name: string): string | undefined {
  const value = ctx.query[name];
  return value === undefined ? undefined : String(value);
}

function firewallInput(b: FirewallBody): FirewallInput {
  return { name: b.name, inboundRules: b.inbound_rules, outboundRules: b.outbound_rules, dropletIds: b.droplet_ids, tags: b.tags };
}

function metricHandler(metric: DropletMetric): Handler {
  return (state, ctx) => {
    const droplet = state.droplets.get(Number(ctx.query['host_id']));
    const query = {
      start: Number(ctx.query['start']),
      end: Number(ctx.query['end']),
      interface: queryString(ctx, 'interface'),
      direction: queryString(ctx, 'direction'),
    };
    if (query.end < query.start) throw new ApiError(400, 'end must not be before start');
    return { status: 200, body: dropletMetrics(metric, droplet, query, state.utilizationOf(droplet?.id)) };
  };
}

const METRIC_OPERATIONS: Readonly<Record<DropletMetric, string>> = {
  bandwidth: 'monitoring_get_dropletBandwidthMetrics',
  cpu: 'monitoring_get_DropletCpuMetrics',
  filesystem_free: 'monitoring_get_dropletFilesystemFreeMetrics',
  filesystem_size: 'monitoring_get_dropletFilesystemSizeMetrics',
  load_1: 'monitoring_get_dropletLoad1Metrics',
  load_5: 'monitoring_get_dropletLoad5Metrics',
  load_15: 'monitoring_get_dropletLoad15Metrics',
  memory_cached: 'monitoring_get_dropletMemoryCachedMetrics',
  memory_free: 'monitoring_get_dropletMemoryFreeMetrics',
  memory_total: 'monitoring_get_dropletMemoryTotalMetrics',
  memory_available: 'monitoring_get_dropletMemoryAvailableMetrics',
};

/** One handler per supported operationId of the vendored spec. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  ...Object.fromEntries(DROPLET_METRICS.map((metric) => [METRIC_OPERATIONS[metric], metricHandler(metric)])),
  account_get: () => ({ status: 200, body: { account: ACCOUNT } }),

  sshKeys_list: (state, ctx) => {
    const p = page([...state.sshKeys.values()], ctx.query, `${ctx.baseUrl}/v2/account/keys`);
    return { status: 200, body: { ssh_keys: p.items.map(sshKeyView), links: p.links, meta: p.meta } };
  },
  sshKeys_create: (state, ctx) => {
    const b = body<{ name: string; public_key: string }>(ctx);
    return { status: 201, body: { ssh_key: sshKeyView(state.createSshKey(b.name, b.public_key)) } };
  },
  sshKeys_get: (state, ctx) => {
    const key = state.findSshKey(param(ctx, 'ssh_key_identifier'));
    if (!key) throw notFound();
    return { status: 200, body: { ssh_key: sshKeyView(key) } };
  },
  sshKeys_delete: (state, ctx) => {
    state.deleteSshKey(param(ctx, 'ssh_key_identifier'));
    return { status: 204 };
  },

  actions_get: (state, ctx) => ({ status: 200, body: { action: actionView(state.getAction(numberParam(ctx, 'action_id'))) } }),

  droplets_list: (state, ctx) => {
    const tag = queryString(ctx, 'tag_name');
    const name = queryString(ctx, 'name');
    const p = page(state.listDroplets(tag, name), ctx.query, `${ctx.baseUrl}/v2/droplets`, { tag_name: tag, name });
    return { status: 200, body: { droplets: p.items.map(dropletView), links: p.links, meta: p.meta } };
  },
  droplets_create: (state, ctx) => {
    const b = body<DropletCreateBody>(ctx);
    const names = b.names ?? (b.name === undefined ? [] : [b.name]);
    if (names.length > 10) throw unprocessable('You can create at most 10 droplets at a time.');
    const created = names.map((name) =>
      state.createDroplet(
        {
          name,
          size: b.size,
          image: b.image,
          region: b.region,
          sshKeys: b.ssh_keys,
          tags: b.tags,
          userData: b.user_data,
          vpcUuid: b.vpc_uuid,
          ipv6: b.ipv6,
          backups: b.backups,
          monitoring: b.monitoring,
        },
        { bootFails: ctx.bootFails(), listLagMs: ctx.listLagMs() },
      ),
    );
    const links = {
      actions: created.map(({ action }) => ({ id: action.id, rel: 'create', href: `${ctx.baseUrl}/v2/actions/${action.id}` })),
    };
    const first = created[0];
    if (b.names === undefined && first) return { status: 202, body: { droplet: dropletView(first.droplet), links } };
    return { status: 202, body: { droplets: created.map(({ droplet }) => dropletView(droplet)), links } };
  },
  droplets_destroy_byTag: (state, ctx) => {
    state.deleteDropletsByTag(String(ctx.query['tag_name']));
    return { status: 204 };
  },
  droplets_get: (state, ctx) => ({ status: 200, body: { droplet: dropletView(state.getDroplet(numberParam(ctx, 'droplet_id'))) } }),
  droplets_destroy: (state, ctx) => {
    state.deleteDroplet(numberParam(ctx, 'droplet_id'));
    return { status: 204 };
  },

  dropletActions_post: (state, ctx) => {
    const b = body<{ type: string; size?: string; image?: string | number; name?: string }>(ctx);
    const action = state.dropletAction(numberParam(ctx, 'droplet_id'), b.type, { size: b.size, image: b.image, name: b.name });
    return { status: 201, body: { action: actionView(action) } };
  },
  dropletActions_post_byTag: (state, ctx) => {
    const b = body<{ type: string; name?: string }>(ctx);
    const actions = state.dropletActionByTag(String(ctx.query['tag_name']), b.type, { name: b.name });
    return { status: 201, body: { actions: actions.map(actionView) } };
  },
  dropletActions_list: (state, ctx) => {
    const id = numberParam(ctx, 'droplet_id');
    state.getDroplet(id);
    const actions = [...state.actions.values()].filter((a) => a.resourceId === id).reverse();
    const p = page(actions, ctx.query, `${ctx.baseUrl}/v2/droplets/${id}/actions`);
    return { status: 200, body: { actions: p.items.map(actionView), links: p.links, meta: p.meta } };
  },
  droplets_list_firewalls: (state, ctx) => {
    const id = numberParam(ctx, 'droplet_id');
    state.getDroplet(id);
    const firewalls = [...state.firewalls.values()].filter((f) => state.firewallAppliesTo(f).includes(id));
    const p = page(firewalls, ctx.query, `${ctx.baseUrl}/v2/droplets/${id}/firewalls`);
    return { status: 200, body: { firewalls: p.items.map(firewallView), links: p.links, meta: p.meta } };
  },
  droplets_list_associatedResources: (state, ctx) => {
    state.getDroplet(numberParam(ctx, 'droplet_id'));
    // The sandbox has no reserved IPs, snapshots or volumes: nothing is associated with a droplet.
    return { status: 200, body: { reserved_ips: [], floating_ips: [], snapshots: [], volumes: [], volume_snapshots: [] } };
  },
  droplets_destroy_withAssociatedResourcesSelective: (state, ctx) => {
    const b = body<Record<string, string[] | undefined> | undefined>(ctx) ?? {};
    state.destroyWithAssociatedResources(numberParam(ctx, 'droplet_id'), Object.values(b).flatMap((ids) => ids ?? []));
    return { status: 202 };
  },
  droplets_destroy_withAssociatedResourcesDangerous: (state, ctx) => {
    if (ctx.headers['x-dangerous'] !== 'true') {
      throw new ApiError(412, 'The X-Dangerous header must be set to true to destroy a droplet with all its associated resources.');
    }
    state.destroyWithAssociatedResources(numberParam(ctx, 'droplet_id'), []);
    return { status: 202 };
  },
  droplets_get_DestroyAssociatedResourcesStatus: (state, ctx) => {
    const record = state.associatedDestroys.get(numberParam(ctx, 'droplet_id'));
    if (!record) throw notFound();
    const failed = record.missing.map((id) => ({ id, name: id, error_message: 'not a resource of this droplet' }));
    return {
      status: 200,
      body: {
        droplet: { id: record.droplet.id, name: record.droplet.name, destroyed_at: record.droplet.destroyedAt },
        resources: { reserved_ips: [], floating_ips: [], snapshots: [], volumes: failed, volume_snapshots: [] },
        completed_at: record.completedAt,
        failures: failed.length,
      },
    };
  },
  dropletActions_get: (state, ctx) => {
    const action = state.getAction(numberParam(ctx, 'action_id'));
    if (action.resourceId !== numberParam(ctx, 'droplet_id')) throw notFound();
    return { status: 200, body: { action: actionView(action) } };
  },

  firewalls_list: (state, ctx) => {
    const p = page([...state.firewalls.values()], ctx.query, `${ctx.baseUrl}/v2/firewalls`);
    return { status: 200, body: { firewalls: p.items.map(firewallView), links: p.links, meta: p.meta } };
  },
  firewalls_create: (state, ctx) => ({
    status: 202,
    body: { firewall: firewallView(state.createFirewall(firewallInput(body<FirewallBody>(ctx)))) },
  }),
  firewalls_get: (state, ctx) => ({ status: 200, body: { firewall: firewallView(state.getFirewall(param(ctx, 'firewall_id'))) } }),
  firewalls_update: (state, ctx) => ({
    status: 200,
    body: { firewall: firewallView(state.updateFirewall(param(ctx, 'firewall_id'), firewallInput(body<FirewallBody>(ctx)))) },
  }),
  firewalls_delete: (state, ctx) => {
    state.deleteFirewall(param(ctx, 'firewall_id'));
    return { status: 204 };
  },
  firewalls_assign_droplets: (state, ctx) => {
    state.addFirewallDroplets(param(ctx, 'firewall_id'), body<{ droplet_ids: number[] }>(ctx).droplet_ids);
    return { status: 204 };
  },
  firewalls_delete_droplets: (state, ctx) => {
    state.removeFirewallDroplets(param(ctx, 'firewall_id'), body<{ droplet_ids: number[] }>(ctx).droplet_ids);
    return { status: 204 };
  },
  firewalls_add_tags: (state, ctx) => {
    state.addFirewallTags(param(ctx, 'firewall_id'), body<{ tags: string[] | null }>(ctx).tags ?? []);
    return { status: 204 };
  },
  firewalls_delete_tags: (state, ctx) => {
    state.removeFirewallTags(param(ctx, 'firewall_id'), body<{ tags: string[] | null }>(ctx).tags ?? []);
    return { status: 204 };
  },

  images_list: (_state, ctx) => {
    const type = queryString(ctx, 'type');
    // The catalogue is DigitalOcean's public images: none is private, none carries a tag.
    // `distribution` images are the base ones, `application` the one-click (snapshot) ones such as Docker's.
    const kind = type === 'distribution' ? 'base' : type === 'application' ? 'snapshot' : undefined;
    const images = ctx.query['private'] === true || queryString(ctx, 'tag_name') !== undefined ? [] : IMAGES.filter((i) => kind === undefined || i.type === kind);
    const p = page(images, ctx.query, `${ctx.baseUrl}/v2/images`, { type });
    return { status: 200, body: { images: p.items, links: p.links, meta: p.meta } };
  },
  images_get: (_state, ctx) => {
    const image = findImage(param(ctx, 'image_id'));
    if (!image) throw notFound();
    return { status: 200, body: { image } };
  },
  regions_list: (_state, ctx) => {
    const p = page(REGIONS, ctx.query, `${ctx.baseUrl}/v2/regions`);
    return { status: 200, body: { regions: p.items, links: p.links, meta: p.meta } };
  },
  sizes_list: (_state, ctx) => {
    const p = page(SIZES, ctx.query, `${ctx.baseUrl}/v2/sizes`);
    return { status: 200, body: { sizes: p.items, links: p.links, meta: p.meta } };
  },

  tags_list: (state, ctx) => {
    const p = page([...state.tags], ctx.query, `${ctx.baseUrl}/v2/tags`);
    return { status: 200, body: { tags: p.items.map((t) => tagView(state, t, ctx.baseUrl)), links: p.links, meta: p.meta } };
  },
  tags_create: (state, ctx) => {
    const name = body<{ name: string }>(ctx).name;
    state.tags.add(name);
    return { status: 201, body: { tag: tagView(state, name, ctx.baseUrl) } };
  },
  tags_get: (state, ctx) => ({ status: 200, body: { tag: tagView(state, state.getTag(param(ctx, 'tag_id')), ctx.baseUrl) } }),
  tags_delete: (state, ctx) => {
    state.deleteTag(param(ctx, 'tag_id'));
    return { status: 204 };
  },
  tags_assign_resources: (state, ctx) => {
    const resources = body<{ resources: { resource_id?: string; resource_type?: string }[] }>(ctx).resources;
    state.tagDroplets(param(ctx, 'tag_id'), resources);
    return { status: 204 };
  },
};
