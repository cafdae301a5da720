import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { z } from 'zod';
import { describeZodError } from '../shared/validation';

/**
 * The supervisor's compose project on the droplet (reference §5b, adapted): the agent writes it to
 * /opt/trigger-ops/supervisor/compose.yaml and its variables to .env beside it. The compose file holds no secret;
 * every secret is a `${VAR:?}` filled from the .env (0600) by `docker compose --env-file`.
 */

/** Compose project name: containers are `<project>-<service>-1`. The agent hard-codes the same names. */
export const SUPERVISOR_PROJECT = 'trigger';
export const SUPERVISOR_SERVICE = 'supervisor';
export const SUPERVISOR_CONTAINER = `${SUPERVISOR_PROJECT}-${SUPERVISOR_SERVICE}-1`;
export const DEFAULT_SUPERVISOR_IMAGE = 'ghcr.io/triggerdotdev/supervisor';
/** docker-socket-proxy, pinned: the supervisor reaches Docker only through it, with the API areas it needs. */
export const DEFAULT_DOCKER_PROXY_IMAGE = 'ghcr.io/tecnativa/docker-socket-proxy:0.3.0';

/** A Docker image tag (Docker's grammar); the agent checks tags with the same pattern. */
export const imageTagSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: 'must be a Docker image tag such as "v4.5.12"' })
  .refine((tag) => tag !== 'latest' && tag !== 'v4', { message: 'must be a pinned release tag, not a floating one' });

const imageRepositorySchema = z
  .string()
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, {
    message: 'must be an image repository without a tag, e.g. "ghcr.io/triggerdotdev/supervisor"',
  });

export const supervisorComposeInputSchema = z.object({
  /** Supervisor image repository, without tag (the tag comes from TRIGGER_IMAGE_TAG in the .env). */
  image: imageRepositorySchema.default(DEFAULT_SUPERVISOR_IMAGE),
  /** docker-socket-proxy image with a pinned tag. */
  dockerProxyImage: z
    .string()
    .regex(/^[^\s:@]+(?::[0-9]+)?(?:\/[^\s:@]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/, {
      message: 'must be an image with a pinned tag or digest',
    })
    .default(DEFAULT_DOCKER_PROXY_IMAGE),
  /** Size of each compose service's log file before rotation (Docker's `local` driver). */
  logMaxSize: z
    .string()
    .regex(/^[1-9][0-9]*[kmg]$/, { message: 'must be a size such as "20m"' })
    .default('20m'),
  logMaxFile: z.number().int().min(1).max(100).default(5),
});
export type SupervisorComposeInput = z.input<typeof supervisorComposeInputSchema>;

const healthcheckScript =
  "require('http').get('http://127.0.0.1:8020/health',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))";

/**
 * The compose file. Differences from upstream's worker compose, and why:
 * - no `ports:` at all: the supervisor only calls out; runners reach its workload API (8020) over the `supervisor`
 *   network, and metrics stay on the container's loopback (METRICS_HOST default). The controller reads health
 *   through the agent (docker inspect, logs), so nothing needs publishing.
 * - the worker token comes from the .env, not the bootstrap file, so no shared volume, `user: root` or command.
 * - `DOCKER_AUTOREMOVE_EXITED_CONTAINERS=1` (upstream sets 0 and the disk fills, reference §8 #9) and the real
 *   `DOCKER_ENFORCE_MACHINE_PRESETS` name (upstream's `ENFORCE_MACHINE_PRESETS` is never read).
 * - runners join only the `supervisor` network: never `docker-proxy` (that would hand them the Docker API) and
 *   never `host` (that would bypass the DOCKER-USER rule keeping them from the metadata service). Upstream's
 *   `webapp` network is pointless on a worker-only host.
 * - what a careful operator adds (every name is read by v4.5.12's env.ts, vendor/trigger/v4.5.12): deployment tokens
 *   enforced (the supervisor signs one into each runner and refuses a forged one), the Docker API version pinned to
 *   the droplet daemon's, and the resource monitor sized to the droplet so dequeues stop when its CPUs are taken.
 */
export function buildSupervisorCompose(input: SupervisorComposeInput = {}): string {
  const parsed = supervisorComposeInputSchema.safeParse(input);
  if (!parsed.success) throw new Error(`Invalid supervisor compose input: ${describeZodError(parsed.error)}`);
  const { image, dockerProxyImage, logMaxSize, logMaxFile } = parsed.data;
  const logging = { driver: 'local', options: { 'max-size': logMaxSize, 'max-file': String(logMaxFile), compress: 'true' } };
  const doc = {
    name: SUPERVISOR_PROJECT,
    services: {
      [SUPERVISOR_SERVICE]: {
        image: `${image}:\${TRIGGER_IMAGE_TAG:?TRIGGER_IMAGE_TAG must pin a release, e.g. v4.5.12}`,
        restart: 'unless-stopped',
        logging,
        depends_on: ['docker-proxy'],
        networks: ['supervisor', 'docker-proxy'],
        environment: {
          TRIGGER_API_URL: '${TRIGGER_API_URL:?}',
          OTEL_EXPORTER_OTLP_ENDPOINT: '${OTEL_EXPORTER_OTLP_ENDPOINT:?}',
          TRIGGER_WORKER_TOKEN: '${TRIGGER_WORKER_TOKEN:?}',
          MANAGED_WORKER_SECRET: '${MANAGED_WORKER_SECRET:?}',
          TRIGGER_WORKER_INSTANCE_NAME: '${TRIGGER_WORKER_INSTANCE_NAME:?}',
          WORKLOAD_TOKEN_SECRET: '${WORKLOAD_TOKEN_SECRET:?}',
          WORKLOAD_TOKEN_ENFORCEMENT: 'enforce',
          TRIGGER_WORKLOAD_API_DOMAIN: 'supervisor',
          TRIGGER_WORKLOAD_API_PORT_EXTERNAL: '8020',
          TRIGGER_DEQUEUE_INTERVAL_MS: '1000',
          DOCKER_HOST: 'tcp://docker-proxy:2375',
          DOCKER_API_VERSION: '${DOCKER_API_VERSION:?}',
          RESOURCE_MONITOR_ENABLED: '1',
          RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL: '${RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL:?}',
          RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB: '${RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB:?}',
          DOCKER_RUNNER_NETWORKS: 'supervisor',
          DOCKER_ENFORCE_MACHINE_PRESETS: '1',
          DOCKER_AUTOREMOVE_EXITED_CONTAINERS: '1',
          DOCKER_REGISTRY_URL: '${DOCKER_REGISTRY_URL:-}',
          DOCKER_REGISTRY_USERNAME: '${DOCKER_REGISTRY_USERNAME:-}',
          DOCKER_REGISTRY_PASSWORD: '${DOCKER_REGISTRY_PASSWORD:-}',
          DEBUG: '${SUPERVISOR_DEBUG:-0}',
        },
        healthcheck: {
          test: ['CMD', 'node', '-e', healthcheckScript],
          interval: '30s',
          timeout: '10s',
          retries: 5,
          start_period: '10s',
        },
      },
      'docker-proxy': {
        image: dockerProxyImage,
        restart: 'unless-stopped',
        logging,
        volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro'],
        networks: ['docker-proxy'],
        environment: { LOG_LEVEL: 'info', POST: '1', CONTAINERS: '1', IMAGES: '1', INFO: '1', NETWORKS: '1' },
        healthcheck: {
          test: ['CMD', 'nc', '-z', '127.0.0.1', '2375'],
          interval: '30s',
          timeout: '5s',
          retries: 5,
          start_period: '5s',
        },
      },
    },
    networks: {
      'docker-proxy': { name: 'docker-proxy' },
      supervisor: { name: 'supervisor' },
    },
  };
  return `# Managed by trigger-ops: changes here are overwritten. Values come from .env beside this file.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
/** Written bare: nothing in this set is special to compose's .env parser (no quotes, '#', '$', spaces, '\'). */
const BARE_VALUE = /^[A-Za-z0-9_./:@%+,=~-]*$/;

/**
 * One `KEY=value` line of a compose env file. Values outside the bare set are single-quoted, which compose reads
 * literally (no `${}` interpolation). Compose has no escape for `'` or a trailing `\` inside single quotes that
 * every version agrees on, and double quotes interpolate, so values with `'`, `\` or line breaks are refused.
 */
export function formatEnvLine(key: string, value: string): string {
  if (!ENV_KEY.test(key)) throw new Error(`Invalid env variable name ${JSON.stringify(key)}: use A-Z, 0-9 and "_"`);
  if (BARE_VALUE.test(value)) return `${key}=${value}`;
  if (/['\\\r\n\0]/.test(value)) {
    throw new Error(`${key} contains a quote, backslash or line break, which a compose .env file cannot hold safely`);
  }
  return `${key}='${value}'`;
}

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

export const supervisorEnvInputSchema = z
  .object({
    /** Supervisor release, e.g. v4.5.12; the same tag as the webapp (reference §5c). */
    imageTag: imageTagSchema,
    /** Public webapp URL, e.g. https://trigger.example.com. */
    apiUrl: httpUrl,
    /** Where runners send OTLP; defaults to `${apiUrl}/otel` (reference §8 #1). */
    otelEndpoint: httpUrl.optional(),
    workerToken: z.string().regex(/^tr_wgt_[0-9A-Za-z]+$/, { message: 'must be a worker group token (tr_wgt_…)' }),
    managedWorkerSecret: z.string().min(16, { message: 'must be at least 16 characters' }),
    /**
     * The droplet's name: stable across restarts, distinct between droplets (reference §1a: one WorkerInstance row
     * per name, so the two droplets of a blue-green migrate show up apart).
     */
    workerInstanceName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
      message: 'must be 1-63 characters: letters, digits, "_", "." and "-"',
    }),
    /** Signs the deployment token the supervisor gives each runner; one per installation, from the secret store. */
    workloadTokenSecret: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 hex characters (32 random bytes)' }),
    /** The droplet daemon's API version as `docker version` reports it ("1.47"); written as DOCKER_API_VERSION=v1.47. */
    dockerApiVersion: z.string().regex(/^1\.[0-9]{1,3}$/, { message: 'must be a Docker API version such as "1.47"' }),
    /** The droplet's size (DigitalOcean's vcpus and memory in MiB): the resource monitor's totals, less headroom. */
    capacity: z
      .object({ vcpus: z.number().int().min(1), memoryMb: z.number().int().min(512) })
      .strict(),
    /** Pull credentials for deployment images; all three or none (reference §1a). */
    registry: z
      .object({ url: z.string().min(1), username: z.string().min(1), password: z.string().min(1) })
      .optional(),
    debug: z.boolean().default(false),
  })
  .strict();
export type SupervisorEnvInput = z.input<typeof supervisorEnvInputSchema>;

/**
 * The .env beside the compose file. Its TRIGGER_IMAGE_TAG line is always `TRIGGER_IMAGE_TAG=<tag>` (bare): the
 * agent's `upgrade` rewrites exactly that line, so the hash of an upgraded .env equals the hash of this function's
 * output for the new tag.
 */
export function buildSupervisorEnv(input: SupervisorEnvInput): string {
  const parsed = supervisorEnvInputSchema.safeParse(input);
  if (!parsed.success) throw new Error(`Invalid supervisor env input: ${describeZodError(parsed.error)}`);
  const v = parsed.data;
  const apiUrl = v.apiUrl.replace(/\/+$/, '');
  const totals = resourceMonitorTotals(v.capacity);
  const lines = [
    '# Managed by trigger-ops (0600): changes here are overwritten.',
    formatEnvLine('TRIGGER_IMAGE_TAG', v.imageTag),
    formatEnvLine('TRIGGER_API_URL', apiUrl),
    formatEnvLine('OTEL_EXPORTER_OTLP_ENDPOINT', v.otelEndpoint ?? `${apiUrl}/otel`),
    formatEnvLine('TRIGGER_WORKER_TOKEN', v.workerToken),
    formatEnvLine('MANAGED_WORKER_SECRET', v.managedWorkerSecret),
    formatEnvLine('TRIGGER_WORKER_INSTANCE_NAME', v.workerInstanceName),
    formatEnvLine('WORKLOAD_TOKEN_SECRET', v.workloadTokenSecret),
    // docker-modem puts the version verbatim in the path (`/v1.47/containers/create`), so it carries the "v".
    formatEnvLine('DOCKER_API_VERSION', `v${v.dockerApiVersion}`),
    formatEnvLine('RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL', String(totals.cpu)),
    formatEnvLine('RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB', String(totals.memoryGb)),
    formatEnvLine('DOCKER_REGISTRY_URL', v.registry?.url ?? ''),
    formatEnvLine('DOCKER_REGISTRY_USERNAME', v.registry?.username ?? ''),
    formatEnvLine('DOCKER_REGISTRY_PASSWORD', v.registry?.password ?? ''),
    formatEnvLine('SUPERVISOR_DEBUG', v.debug ? '1' : '0'),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * What the resource monitor may hand out on a droplet: its vCPUs and memory less what the supervisor, docker-proxy
 * and dockerd need (reference §7: about 0.5 vCPU and 0.5-1 GB), taken as half a vCPU and 1 GiB but never more than a
 * quarter of a small droplet. The monitor stops dequeuing when less than 0.25 of a CPU (or no memory) is left.
 */
export function resourceMonitorTotals(capacity: { readonly vcpus: number; readonly memoryMb: number }): { cpu: number; memoryGb: number } {
  const memoryGb = capacity.memoryMb / 1024;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    cpu: round(capacity.vcpus - Math.min(0.5, capacity.vcpus / 4)),
    memoryGb: round(memoryGb - Math.min(1, memoryGb / 4)),
  };
}

/** Everything the .env is built from besides the webapp's variables: the installation's secrets and the droplet's facts. */
export interface DesiredSupervisorEnvInput {
  readonly supervisorVersion: string;
  readonly apiUrl: string;
  readonly workerToken: string;
  readonly workloadTokenSecret: string;
  /** The webapp's rendered Railway variables: MANAGED_WORKER_SECRET and the DEPLOY_REGISTRY_* pull credentials. */
  readonly webappVariables: Readonly<Record<string, string>>;
  readonly droplet: { readonly name: string; readonly vcpus: number; readonly memoryMb: number };
  readonly dockerApiVersion: string;
}

/**
 * The one way to the desired .env: applySupervisorConfig writes it, the heal check hashes it to detect drift, so the
 * two can never disagree about what the configuration should be.
 */
export function buildDesiredSupervisorEnv(input: DesiredSupervisorEnvInput): string {
  const vars = input.webappVariables;
  const registryHost = vars['DEPLOY_REGISTRY_HOST'];
  const registryUser = vars['DEPLOY_REGISTRY_USERNAME'];
  const registryPassword = vars['DEPLOY_REGISTRY_PASSWORD'];
  return buildSupervisorEnv({
    imageTag: input.supervisorVersion,
    apiUrl: input.apiUrl,
    workerToken: input.workerToken,
    managedWorkerSecret: vars['MANAGED_WORKER_SECRET'] ?? '',
    workerInstanceName: input.droplet.name,
    workloadTokenSecret: input.workloadTokenSecret,
    dockerApiVersion: input.dockerApiVersion,
    capacity: { vcpus: input.droplet.vcpus, memoryMb: input.droplet.memoryMb },
    ...(registryHost && registryUser && registryPassword ? { registry: { url: registryHost, username: registryUser, password: registryPassword } } : {}),
  });
}

/** Bumped whenever the algorithm below changes; the agent prints the same constant. */
export const CONFIG_HASH_VERSION = 'trigger-ops-config-v1';

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The configuration's identity, computed identically by the agent (agent.sh config_hash) from the files on disk:
 * sha256_hex("trigger-ops-config-v1\n" + sha256_hex(compose bytes) + "\n" + sha256_hex(.env bytes) + "\n").
 * Hashing each file first keeps the boundary between them unambiguous. The controller compares it with the hash in
 * the agent's `status` to detect drift; it reveals nothing about the secrets in the .env.
 */
export function configHash(compose: string | Buffer, env: string | Buffer): string {
  return sha256Hex(`${CONFIG_HASH_VERSION}\n${sha256Hex(compose)}\n${sha256Hex(env)}\n`);
}
