import { z } from 'zod';
import { installationIdSchema } from './ids';

/** A pinned supervisor release tag, e.g. "v4.5.12". Floating tags (latest, v4) are refused on purpose. */
export const supervisorVersionSchema = z
  .string()
  .regex(/^v\d+\.\d+\.\d+$/, { message: 'must be a pinned release tag like "v4.5.12" (not "latest" or "v4")' });

const cidrSchema = z
  .string()
  .refine((v) => isCidr(v), { message: 'must be an IPv4 or IPv6 CIDR such as "203.0.113.4/32" or "::/0"' });

/** DigitalOcean slugs as inputs name them (bounded in the pattern, so a bad one gets exactly one message). */
export const regionSlugSchema = z.string().regex(/^[a-z]{3}\d$/, { message: 'must be a DigitalOcean region slug such as "nyc3" or "fra1"' });
export const sizeSlugSchema = z.string().regex(/^[a-z0-9-]{1,64}$/, { message: 'must be a DigitalOcean size slug such as "s-2vcpu-4gb"' });
export const imageSlugSchema = z.string().regex(/^[a-z0-9.-]{1,64}$/, { message: 'must be a DigitalOcean image slug such as "docker-20-04"' });

export const DEFAULT_REGION = 'nyc3';
export const DEFAULT_SIZE = 's-2vcpu-4gb';
export const DEFAULT_IMAGE = 'docker-20-04';

export const deployOptionsSchema = z
  .object({
    /** How long the supervisor may take to connect and heartbeat after `up`. */
    healthTimeoutSeconds: z.number().int().min(10).max(3600).default(300),
    /** How long the droplet may take to become active and finish cloud-init. */
    bootTimeoutSeconds: z.number().int().min(10).max(3600).default(600),
    /** DigitalOcean monitoring agent on the droplet. */
    monitoring: z.boolean().default(true),
    /** Generate webapp secrets that are missing on Railway (never rotates existing ones). */
    generateMissingSecrets: z.boolean().default(true),
  })
  .strict();

export const deployInputSchema = z
  .object({
    installationId: installationIdSchema,
    railway: z
      .object({
        /** Defaults to RAILWAY_PROJECT_ID of the controller (set by Railway when it runs there). */
        projectId: z.string().min(1).optional(),
        /** Defaults to RAILWAY_ENVIRONMENT_ID of the controller. */
        environmentId: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    region: regionSlugSchema.default(DEFAULT_REGION),
    size: sizeSlugSchema.default(DEFAULT_SIZE),
    image: imageSlugSchema.default(DEFAULT_IMAGE),
    /** Defaults to the webapp's own version (same release line rule). */
    supervisorVersion: supervisorVersionSchema.optional(),
    sshSourceCidrs: z.array(cidrSchema).min(1).max(50).default(['0.0.0.0/0', '::/0']),
    options: deployOptionsSchema.default({
      healthTimeoutSeconds: 300,
      bootTimeoutSeconds: 600,
      monitoring: true,
      generateMissingSecrets: true,
    }),
  })
  .strict();

export type DeployInput = z.input<typeof deployInputSchema>;
export type DeploySpec = z.output<typeof deployInputSchema>;

// Bounds on what is handed over by signal: a forged hand-over with huge strings is refused, not stored.
const name = z.string().min(1).max(255);
const slug = z.string().min(1).max(100);
const railwayId = z.string().min(1).max(100);
const configHash = z.string().min(1).max(128);
const dropletRefSchema = z.object({ id: z.number().int().positive(), name, ipv4: z.string().min(1).max(45) }).strict();
const railwayRefSchema = z.object({ projectId: railwayId, environmentId: railwayId, webappServiceId: railwayId }).strict();

/** What deploy returns and hands over to the installation workflow (parsed again when it arrives there). */
export const deployResultSchema = z
  .object({
    installationId: installationIdSchema,
    droplet: dropletRefSchema,
    region: slug,
    size: slug,
    image: slug,
    supervisorVersion: supervisorVersionSchema,
    configHash,
    firewallId: z.string().min(1).max(100),
    sshKeyId: z.number().int().positive(),
    monthlyPriceUsd: z.number().nonnegative(),
    railway: railwayRefSchema,
    /** Railway variables this deploy added to the webapp (names only). */
    generatedSecrets: z.array(z.string().min(1).max(100)).max(100),
  })
  .strict();
export type DeployResult = z.output<typeof deployResultSchema>;

/** What the installation wants to be true: set by deploy, changed by upgrade and migrate only. */
export const desiredStateSchema = z
  .object({
    supervisorVersion: supervisorVersionSchema,
    size: slug,
    region: slug,
    image: slug,
    configHash,
    generation: z.number().int().positive(),
    droplet: dropletRefSchema,
    sshKeyId: z.number().int().positive(),
    railway: railwayRefSchema,
    apiUrl: z.string().url().max(2048),
    /** DigitalOcean's list price of the droplet's size (absent in state recorded before it was kept). */
    monthlyPriceUsd: z.number().nonnegative().optional(),
  })
  .strict();
export type DesiredState = z.output<typeof desiredStateSchema>;

function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return bits <= 32 && address.split('.').every((o) => Number(o) <= 255);
  }
  return bits <= 128 && /^[0-9a-fA-F:]+$/.test(address) && address.includes(':');
}
