/**
 * The fixed parts of the fake DigitalOcean account: regions, sizes (with DigitalOcean's list prices for Basic
 * droplets), public images and the account itself. Shapes are the spec's `region`, `size`, `image` and `account`.
 */

export interface RegionEntry {
  readonly slug: string;
  readonly name: string;
  readonly features: readonly string[];
  readonly available: boolean;
  readonly sizes: readonly string[];
}

export interface SizeEntry {
  readonly slug: string;
  readonly memory: number;
  readonly vcpus: number;
  readonly disk: number;
  readonly transfer: number;
  readonly price_monthly: number;
  readonly price_hourly: number;
  readonly regions: readonly string[];
  readonly available: boolean;
  readonly description: string;
  readonly disk_info: readonly { readonly type: 'local'; readonly size: { readonly amount: number; readonly unit: 'gib' } }[];
}

export interface ImageEntry {
  readonly id: number;
  readonly name: string;
  readonly type: 'base' | 'snapshot';
  readonly distribution: 'Ubuntu';
  readonly slug: string;
  readonly public: boolean;
  readonly regions: readonly string[];
  readonly created_at: string;
  readonly min_disk_size: number;
  readonly size_gigabytes: number;
  readonly description: string;
  readonly tags: readonly string[];
  readonly status: 'available';
}

const REGION_NAMES: Readonly<Record<string, string>> = {
  nyc1: 'New York 1',
  nyc3: 'New York 3',
  sfo3: 'San Francisco 3',
  ams3: 'Amsterdam 3',
  fra1: 'Frankfurt 1',
  lon1: 'London 1',
  sgp1: 'Singapore 1',
  tor1: 'Toronto 1',
  blr1: 'Bangalore 1',
  syd1: 'Sydney 1',
};
const REGION_SLUGS = Object.keys(REGION_NAMES);

// slug, vCPUs, memory (MiB), disk (GB), transfer (TB), $/month: DigitalOcean's Basic (regular SSD) price list.
const SIZE_ROWS: readonly (readonly [string, number, number, number, number, number])[] = [
  ['s-1vcpu-512mb-10gb', 1, 512, 10, 0.5, 4],
  ['s-1vcpu-1gb', 1, 1024, 25, 1, 6],
  ['s-1vcpu-2gb', 1, 2048, 50, 2, 12],
  ['s-2vcpu-2gb', 2, 2048, 60, 3, 18],
  ['s-2vcpu-4gb', 2, 4096, 80, 4, 24],
  ['s-4vcpu-8gb', 4, 8192, 160, 5, 48],
  ['s-8vcpu-16gb', 8, 16384, 320, 6, 96],
];

export const SIZES: readonly SizeEntry[] = SIZE_ROWS.map(([slug, vcpus, memory, disk, transfer, monthly]) => ({
  slug,
  memory,
  vcpus,
  disk,
  transfer,
  price_monthly: monthly,
  // DigitalOcean bills hourly up to 672 hours (28 days) a month.
  price_hourly: Math.round((monthly / 672) * 100000) / 100000,
  regions: REGION_SLUGS,
  available: true,
  description: 'Basic',
  disk_info: [{ type: 'local', size: { amount: disk, unit: 'gib' } }],
}));

export const REGIONS: readonly RegionEntry[] = REGION_SLUGS.map((slug) => ({
  slug,
  name: REGION_NAMES[slug] ?? slug,
  features: ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'],
  available: true,
  sizes: SIZES.map((s) => s.slug),
}));

const IMAGE_ROWS: readonly (readonly [number, string, string, 'base' | 'snapshot', number])[] = [
  [164331620, 'ubuntu-24-04-x64', '24.04 (LTS) x64', 'base', 7],
  [160239462, 'ubuntu-22-04-x64', '22.04 (LTS) x64', 'base', 7],
  [115880519, 'docker-20-04', 'Docker on Ubuntu 20.04', 'snapshot', 25],
  [162478215, 'docker-24-04', 'Docker on Ubuntu 24.04', 'snapshot', 25],
];

export const IMAGES: readonly ImageEntry[] = IMAGE_ROWS.map(([id, slug, name, type, minDisk]) => ({
  id,
  name,
  type,
  distribution: 'Ubuntu',
  slug,
  public: true,
  regions: REGION_SLUGS,
  created_at: '2025-01-15T12:00:00Z',
  min_disk_size: minDisk,
  size_gigabytes: 2.36,
  description: `${name}`,
  tags: [],
  status: 'available',
}));

export function findRegion(slug: string): RegionEntry | undefined {
  return REGIONS.find((r) => r.slug === slug);
}

export function findSize(slug: string): SizeEntry | undefined {
  return SIZES.find((s) => s.slug === slug);
}

/** By slug or numeric id, as `GET /v2/images/{image_id}` and droplet create accept both. */
export function findImage(idOrSlug: string | number): ImageEntry | undefined {
  return IMAGES.find((i) => i.slug === idOrSlug || String(i.id) === String(idOrSlug));
}

export const ACCOUNT = {
  droplet_limit: 25,
  floating_ip_limit: 3,
  email: 'sandbox@trigger-ops.invalid',
  name: 'trigger-ops sandbox',
  uuid: '5f6d1f2e-7c1b-4a57-9b4e-5ad0c0ffee00',
  email_verified: true,
  status: 'active',
  status_message: '',
  team: { uuid: '8c1b0f6e-0a7e-4b0e-9c54-5ad0c0ffee01', name: 'trigger-ops sandbox' },
} as const;
