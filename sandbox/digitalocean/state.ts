import { IDLE, type Utilization } from './metrics';
import { randomUUID } from 'node:crypto';
import type { DropletHostDriver, DropletSpec } from '../contracts';
import { delayMs, type Delay } from '../timings';
import { notFound, unprocessable } from './api-error';
import { findImage, findSize, REGIONS, type ImageEntry } from './catalog';
import { sshKeyFingerprint } from './fingerprint';

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';
export type ActionStatus = 'in-progress' | 'completed' | 'errored';

export interface DropletRecord {
  readonly id: number;
  name: string;
  readonly region: string;
  size: string;
  image: ImageEntry;
  readonly tags: string[];
  status: DropletStatus;
  locked: boolean;
  readonly createdAt: string;
  ipv4: string | undefined;
  readonly userData: string | undefined;
  readonly sshPublicKeys: readonly string[];
  readonly vpcUuid: string;
  /** Asked for at create or by `enable_ipv6`: a v6 address and the `ipv6` feature. */
  ipv6: boolean;
  /** Weekly backups (`backups: true` at create, `enable_backups`): the `backups` feature and a backup window. */
  backups: boolean;
  /** Ids of snapshots taken with the `snapshot` action. */
  readonly snapshotIds: number[];
  /** Asked for at create: the metrics agent (the `monitoring` feature), without which there are no metrics. */
  readonly monitoring: boolean;
  /** Epoch ms from which lists show it (a `droplet_list_lag` fault); 0 for at once. */
  readonly listedFrom: number;
}

export interface ActionRecord {
  readonly id: number;
  readonly type: string;
  status: ActionStatus;
  readonly startedAt: string;
  completedAt: string | null;
  readonly resourceId: number;
  readonly resourceType: 'droplet';
  readonly regionSlug: string;
}

export interface SshKeyRecord {
  readonly id: number;
  readonly name: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

export interface FirewallRule {
  readonly protocol: string;
  readonly ports: string;
  readonly sources?: Record<string, unknown>;
  readonly destinations?: Record<string, unknown>;
}

export interface FirewallRecord {
  readonly id: string;
  name: string;
  readonly createdAt: string;
  /** Epoch ms until which the firewall is `waiting` (its rules are being applied), then `succeeded`. */
  appliedAt: number;
  inboundRules: FirewallRule[];
  outboundRules: FirewallRule[];
  dropletIds: number[];
  tags: string[];
}

export interface CreateDropletInput {
  readonly name: string;
  readonly size: string;
  readonly image: string | number;
  readonly region?: string | undefined;
  readonly sshKeys?: readonly (string | number)[] | undefined;
  readonly tags?: readonly string[] | null | undefined;
  readonly userData?: string | undefined;
  readonly vpcUuid?: string | undefined;
  readonly ipv6?: boolean | undefined;
  readonly backups?: boolean | undefined;
  readonly monitoring?: boolean | undefined;
}

/** What `destroy_with_associated_resources` removed, for its status call. */
export interface AssociatedDestroyRecord {
  readonly droplet: { readonly id: string; readonly name: string; readonly destroyedAt: string };
  /** Resource ids that were asked for but are not the droplet's: each is a failure in the status. */
  readonly missing: readonly string[];
  readonly completedAt: string;
}

/** How long a new or changed firewall stays `waiting` before `succeeded`. */
export const FIREWALL_APPLY_MS = 1_000;

export interface FirewallInput {
  readonly name: string;
  readonly inboundRules?: readonly FirewallRule[] | null | undefined;
  readonly outboundRules?: readonly FirewallRule[] | null | undefined;
  readonly dropletIds?: readonly number[] | null | undefined;
  readonly tags?: readonly string[] | null | undefined;
}

export interface StateOptions {
  readonly hosts: DropletHostDriver;
  readonly bootDelayMs: Delay;
  readonly actionDelayMs: Delay;
}

const USER_DATA_LIMIT = 64 * 1024;
const DEFAULT_REGION = 'nyc3';

/** Host driver call and resulting status for each droplet action the stand-in performs. */
const POWER_ACTIONS: Readonly<Record<string, { readonly call: 'powerOn' | 'powerOff' | 'shutdown' | 'reboot' | 'powerCycle'; readonly ends: DropletStatus }>> = {
  power_on: { call: 'powerOn', ends: 'active' },
  power_off: { call: 'powerOff', ends: 'off' },
  shutdown: { call: 'shutdown', ends: 'off' },
  reboot: { call: 'reboot', ends: 'active' },
  power_cycle: { call: 'powerCycle', ends: 'active' },
};
/** Actions that change only what the API shows (no host call), and how. */
const RECORD_ACTIONS: Readonly<Record<string, (droplet: DropletRecord, params: DropletActionParams, snapshotId: () => number) => void>> = {
  enable_backups: (d) => void (d.backups = true),
  disable_backups: (d) => void (d.backups = false),
  enable_ipv6: (d) => void (d.ipv6 = true),
  // Every droplet is in a VPC already; the action still runs, as it does on DigitalOcean.
  enable_private_networking: () => undefined,
  password_reset: () => undefined,
  change_kernel: () => undefined,
  rename: (d, params) => void (d.name = params.name ?? d.name),
  snapshot: (d, _params, snapshotId) => void d.snapshotIds.push(snapshotId()),
};

export interface DropletActionParams {
  readonly size?: string | undefined;
  readonly image?: string | number | undefined;
  readonly name?: string | undefined;
}

export const SUPPORTED_DROPLET_ACTIONS = [...Object.keys(POWER_ACTIONS), 'resize', 'rebuild', 'restore', ...Object.keys(RECORD_ACTIONS)] as const;

/**
 * The account's resources and their life cycles. Host-driver calls for one droplet run one after another (a delete
 * during boot waits for the boot), and an action completes only once its host call has resolved.
 */
export class DigitalOceanState {
  readonly droplets = new Map<number, DropletRecord>();
  readonly actions = new Map<number, ActionRecord>();
  readonly sshKeys = new Map<number, SshKeyRecord>();
  readonly tags = new Set<string>();
  readonly firewalls = new Map<string, FirewallRecord>();
  readonly associatedDestroys = new Map<number, AssociatedDestroyRecord>();
  /** How busy each droplet is, for its metrics (idle unless set). */
  readonly utilization = new Map<number, Utilization>();
  readonly hostErrors: string[] = [];

  private nextDropletId = 500_000_001;
  private nextActionId = 2_000_000_001;
  private nextKeyId = 41_000_001;
  private nextSnapshotId = 180_000_001;
  private readonly chains = new Map<number, Promise<void>>();
  private readonly running = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private closed = false;

  constructor(private readonly options: StateOptions) {}

  // Droplets

  createDroplet(input: CreateDropletInput, faults: { readonly bootFails: boolean; readonly listLagMs: number }): { droplet: DropletRecord; action: ActionRecord } {
    const { bootFails } = faults;
    const size = findSize(input.size);
    if (!size) throw unprocessable(`You specified an invalid size for Droplet creation: ${input.size}.`);
    const image = findImage(input.image);
    if (!image) throw unprocessable(`You specified an invalid image for Droplet creation: ${input.image}.`);
    const region = this.pickRegion(input.region);
    if (input.userData !== undefined && Buffer.byteLength(input.userData) > USER_DATA_LIMIT) {
      throw unprocessable('user_data must not exceed 64 KiB.');
    }
    const sshPublicKeys = (input.sshKeys ?? []).map((ref) => {
      const key = this.findSshKey(String(ref));
      if (!key) throw unprocessable(`You specified an invalid SSH key ID or fingerprint: ${ref}.`);
      return key.publicKey;
    });
    const tags = [...new Set(input.tags ?? [])];
    for (const tag of tags) this.tags.add(tag);
    const droplet: DropletRecord = {
      id: this.nextDropletId++,
      name: input.name,
      region,
      size: size.slug,
      image,
      tags,
      status: 'new',
      locked: false,
      createdAt: timestamp(),
      ipv4: undefined,
      userData: input.userData,
      sshPublicKeys,
      vpcUuid: input.vpcUuid ?? randomUUID(),
      ipv6: input.ipv6 ?? false,
      backups: input.backups ?? false,
      snapshotIds: [],
      monitoring: input.monitoring ?? false,
      listedFrom: faults.listLagMs > 0 ? Date.now() + faults.listLagMs : 0,
    };
    this.droplets.set(droplet.id, droplet);
    const action = this.startAction(droplet, 'create');
    const spec: DropletSpec = {
      id: droplet.id,
      name: droplet.name,
      region,
      size: droplet.size,
      image: image.slug,
      tags: [...tags],
      userData: droplet.userData,
      sshPublicKeys,
    };
    this.run(droplet.id, async () => {
      if (bootFails) {
        await this.sleep(delayMs(this.options.bootDelayMs));
        this.finish(action, 'errored');
        return;
      }
      const [host] = await Promise.all([this.options.hosts.create(spec), this.sleep(delayMs(this.options.bootDelayMs))]);
      if (this.droplets.get(droplet.id) === droplet) {
        droplet.ipv4 = host.ipv4;
        droplet.status = 'active';
      }
      this.finish(action, 'completed');
    }, action);
    return { droplet, action };
  }

  getDroplet(id: number): DropletRecord {
    const droplet = this.droplets.get(id);
    if (!droplet) throw notFound();
    return droplet;
  }

  /** What GET /v2/droplets shows: droplets still within a list lag are left out. */
  listDroplets(tag: string | undefined, name: string | undefined): DropletRecord[] {
    const now = Date.now();
    return this.matchDroplets(tag, name).filter((d) => d.listedFrom <= now);
  }

  private matchDroplets(tag: string | undefined, name: string | undefined): DropletRecord[] {
    return [...this.droplets.values()].filter(
      (d) => (tag === undefined || d.tags.includes(tag)) && (name === undefined || d.name.toLowerCase() === name.toLowerCase()),
    );
  }

  deleteDroplet(id: number): void {
    this.getDroplet(id);
    this.droplets.delete(id);
    for (const firewall of this.firewalls.values()) firewall.dropletIds = firewall.dropletIds.filter((d) => d !== id);
    this.run(id, () => this.options.hosts.destroy(id), undefined);
  }

  utilizationOf(id: number | undefined): Utilization {
    return (id === undefined ? undefined : this.utilization.get(id)) ?? IDLE;
  }

  /** `destroy_with_associated_resources` (selective or dangerous): the sandbox's droplets have none but themselves. */
  destroyWithAssociatedResources(id: number, asked: readonly string[]): void {
    const droplet = this.getDroplet(id);
    this.deleteDroplet(id);
    const at = timestamp();
    this.associatedDestroys.set(id, { droplet: { id: String(id), name: droplet.name, destroyedAt: at }, missing: [...asked], completedAt: at });
  }

  deleteDropletsByTag(tag: string): void {
    for (const droplet of this.matchDroplets(tag, undefined)) this.deleteDroplet(droplet.id);
  }

  dropletAction(id: number, type: string, params: DropletActionParams): ActionRecord {
    const droplet = this.getDroplet(id);
    if (droplet.locked || droplet.status === 'new') throw unprocessable('Droplet already has a pending event.');
    const power = POWER_ACTIONS[type];
    if (power) {
      if (power.ends === 'off' && droplet.status === 'off') throw unprocessable('The droplet is already off.');
      if (type === 'power_on' && droplet.status === 'active') throw unprocessable('The droplet is already powered on.');
      return this.act(droplet, type, () => this.options.hosts[power.call](id), () => {
        droplet.status = power.ends;
      });
    }
    if (type === 'resize') {
      const size = findSize(params.size ?? '');
      if (!size) throw unprocessable(`You specified an invalid size: ${params.size ?? '(none)'}.`);
      if (droplet.status !== 'off') throw unprocessable('Droplet is currently on. Please power it off to run this event.');
      if (size.slug === droplet.size) throw unprocessable('The droplet is already set to this size.');
      return this.act(droplet, type, async () => undefined, () => {
        droplet.size = size.slug;
      });
    }
    if (type === 'rebuild') {
      const image = findImage(params.image ?? '');
      if (!image) throw unprocessable(`You specified an invalid image: ${params.image ?? '(none)'}.`);
      return this.act(droplet, type, () => this.options.hosts.rebuild(id, image.slug), () => {
        droplet.image = image;
        droplet.status = 'active';
      });
    }
    if (type === 'restore') {
      // Only a backup of this droplet can be restored; the sandbox's droplets have none.
      throw unprocessable(`You specified an invalid backup for this droplet: ${params.image ?? '(none)'}.`);
    }
    const record = RECORD_ACTIONS[type];
    if (record) {
      return this.act(droplet, type, async () => undefined, () => record(droplet, params, () => this.nextSnapshotId++));
    }
    throw unprocessable(`The sandbox does not support droplet action "${type}" (supported: ${SUPPORTED_DROPLET_ACTIONS.join(', ')}).`);
  }

  /** `POST /v2/droplets/actions?tag_name=`: the action on every droplet with the tag, each with its own action. */
  dropletActionByTag(tag: string, type: string, params: DropletActionParams): ActionRecord[] {
    return this.matchDroplets(tag, undefined).map((d) => this.dropletAction(d.id, type, params));
  }

  getAction(id: number): ActionRecord {
    const action = this.actions.get(id);
    if (!action) throw notFound();
    return action;
  }

  // SSH keys

  createSshKey(name: string, publicKey: string): SshKeyRecord {
    const fingerprint = sshKeyFingerprint(publicKey);
    if (!fingerprint) throw unprocessable('Key invalid, type not supported or key is not an OpenSSH public key.');
    if ([...this.sshKeys.values()].some((k) => k.fingerprint === fingerprint)) {
      throw unprocessable('SSH Key is already in use on your account');
    }
    const key = { id: this.nextKeyId++, name, publicKey: publicKey.trim(), fingerprint };
    this.sshKeys.set(key.id, key);
    return key;
  }

  /** By id or by fingerprint, as the API's `ssh_key_identifier` allows. */
  findSshKey(identifier: string): SshKeyRecord | undefined {
    if (/^\d+$/.test(identifier)) return this.sshKeys.get(Number(identifier));
    return [...this.sshKeys.values()].find((k) => k.fingerprint === identifier);
  }

  deleteSshKey(identifier: string): void {
    const key = this.findSshKey(identifier);
    if (!key) throw notFound();
    this.sshKeys.delete(key.id);
  }

  // Tags

  getTag(name: string): string {
    if (!this.tags.has(name)) throw notFound();
    return name;
  }

  /** Deletes the tag; whatever carried it (droplets, firewalls' targets) is untagged. */
  deleteTag(name: string): void {
    this.getTag(name);
    this.tags.delete(name);
    for (const droplet of this.droplets.values()) {
      const at = droplet.tags.indexOf(name);
      if (at >= 0) droplet.tags.splice(at, 1);
    }
    for (const firewall of this.firewalls.values()) firewall.tags = firewall.tags.filter((t) => t !== name);
  }

  tagDroplets(tag: string, resources: readonly { resource_id?: string | undefined; resource_type?: string | undefined }[]): void {
    this.getTag(tag);
    const droplets = resources.map((r) => {
      // The sandbox holds droplets only: any other resource (image, volume, database…) does not exist here.
      if (r.resource_type !== 'droplet') throw notFound();
      return this.getDroplet(Number(r.resource_id));
    });
    for (const droplet of droplets) if (!droplet.tags.includes(tag)) droplet.tags.push(tag);
  }

  // Firewalls

  createFirewall(input: FirewallInput): FirewallRecord {
    const firewall: FirewallRecord = {
      id: randomUUID(),
      name: input.name,
      createdAt: timestamp(),
      appliedAt: Date.now() + FIREWALL_APPLY_MS,
      inboundRules: [],
      outboundRules: [],
      dropletIds: [],
      tags: [],
    };
    this.assignFirewall(firewall, input);
    this.firewalls.set(firewall.id, firewall);
    return firewall;
  }

  /** PUT semantics: everything left out is reset. */
  updateFirewall(id: string, input: FirewallInput): FirewallRecord {
    const firewall = this.getFirewall(id);
    this.assignFirewall(firewall, input);
    firewall.appliedAt = Date.now() + FIREWALL_APPLY_MS;
    return firewall;
  }

  getFirewall(id: string): FirewallRecord {
    const firewall = this.firewalls.get(id);
    if (!firewall) throw notFound();
    return firewall;
  }

  deleteFirewall(id: string): void {
    this.getFirewall(id);
    this.firewalls.delete(id);
  }

  addFirewallDroplets(id: string, dropletIds: readonly number[]): void {
    const firewall = this.getFirewall(id);
    this.checkDroplets(dropletIds);
    firewall.dropletIds = [...new Set([...firewall.dropletIds, ...dropletIds])];
  }

  removeFirewallDroplets(id: string, dropletIds: readonly number[]): void {
    const firewall = this.getFirewall(id);
    firewall.dropletIds = firewall.dropletIds.filter((d) => !dropletIds.includes(d));
  }

  addFirewallTags(id: string, tags: readonly string[]): void {
    const firewall = this.getFirewall(id);
    firewall.tags = [...new Set([...firewall.tags, ...tags])];
  }

  removeFirewallTags(id: string, tags: readonly string[]): void {
    const firewall = this.getFirewall(id);
    firewall.tags = firewall.tags.filter((t) => !tags.includes(t));
  }

  /** The droplets a firewall protects: those it names and those carrying one of its tags. */
  firewallAppliesTo(firewall: FirewallRecord): number[] {
    return [...this.droplets.values()]
      .filter((d) => firewall.dropletIds.includes(d.id) || d.tags.some((t) => firewall.tags.includes(t)))
      .map((d) => d.id);
  }

  // Life cycle plumbing

  /** Stops timers and waits for in-flight host calls; nothing runs afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { timer, resolve } of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private pickRegion(requested: string | undefined): string {
    if (requested === undefined) return DEFAULT_REGION;
    const region = REGIONS.find((r) => r.slug === requested) ?? REGIONS.find((r) => r.slug.startsWith(requested));
    if (!region) throw unprocessable(`You specified an invalid region for Droplet creation: ${requested}.`);
    return region.slug;
  }

  private checkDroplets(ids: readonly number[]): void {
    const missing = ids.filter((id) => !this.droplets.has(id));
    if (missing.length > 0) throw unprocessable(`Droplets not found: ${missing.join(', ')}.`);
  }

  private assignFirewall(firewall: FirewallRecord, input: FirewallInput): void {
    const dropletIds = [...new Set(input.dropletIds ?? [])];
    this.checkDroplets(dropletIds);
    firewall.name = input.name;
    firewall.inboundRules = [...(input.inboundRules ?? [])];
    firewall.outboundRules = [...(input.outboundRules ?? [])];
    firewall.dropletIds = dropletIds;
    firewall.tags = [...new Set(input.tags ?? [])];
    for (const tag of firewall.tags) this.tags.add(tag);
  }

  private startAction(droplet: DropletRecord, type: string): ActionRecord {
    const action: ActionRecord = {
      id: this.nextActionId++,
      type,
      status: 'in-progress',
      startedAt: timestamp(),
      completedAt: null,
      resourceId: droplet.id,
      resourceType: 'droplet',
      regionSlug: droplet.region,
    };
    this.actions.set(action.id, action);
    return action;
  }

  /** Runs the host call and the action delay together; the droplet changes only when the action completes. */
  private act(droplet: DropletRecord, type: string, hostCall: () => Promise<void>, apply: () => void): ActionRecord {
    const action = this.startAction(droplet, type);
    droplet.locked = true;
    this.run(droplet.id, async () => {
      try {
        await Promise.all([hostCall(), this.sleep(delayMs(this.options.actionDelayMs))]);
        apply();
        this.finish(action, 'completed');
      } finally {
        droplet.locked = false;
      }
    }, action);
    return action;
  }

  private finish(action: ActionRecord, status: ActionStatus): void {
    action.status = status;
    action.completedAt = timestamp();
  }

  /** Queues `task` behind the droplet's earlier host calls; a failure marks `action` errored. */
  private run(dropletId: number, task: () => Promise<void>, action: ActionRecord | undefined): void {
    const previous = this.chains.get(dropletId) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        this.hostErrors.push(`droplet ${dropletId}: ${err instanceof Error ? err.message : String(err)}`);
        if (action) this.finish(action, 'errored');
      }
    });
    this.chains.set(dropletId, next);
    this.running.add(next);
    void next.finally(() => {
      this.running.delete(next);
      if (this.chains.get(dropletId) === next) this.chains.delete(dropletId);
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
      };
      this.timers.add(entry);
    });
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

