import { z } from 'zod';
import { BOUNDS } from '../shared/activity-contract';

const optionalString = z.string().trim().min(1).optional();
const port = z.coerce.number().int().min(0).max(65535);
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every environment variable trigger-ops reads, keyed by its name. The README's configuration table is checked
 * against this object by a test, so a new variable needs a row there too.
 */
export const envSchema = z.object({
  // Temporal frontend host:port; unset means "start the embedded dev server".
  TEMPORAL_ADDRESS: optionalString,
  // Temporal namespace for workflows, schedules and the worker.
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  // Task queue the worker polls and clients start workflows on.
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1).default('trigger-ops'),
  // Temporal Cloud API key (implies TLS).
  TEMPORAL_API_KEY: optionalString,
  // Use TLS to reach the Temporal frontend.
  TEMPORAL_TLS: booleanFlag.optional(),
  // mTLS client certificate (PEM file).
  TEMPORAL_TLS_CERT_PATH: optionalString,
  // mTLS client key (PEM file).
  TEMPORAL_TLS_KEY_PATH: optionalString,
  // CA bundle for the Temporal frontend (PEM file).
  TEMPORAL_TLS_CA_PATH: optionalString,
  // Path of the temporal CLI for the embedded server; found or installed when unset.
  TEMPORAL_CLI_PATH: optionalString,
  // gRPC port of the embedded dev server.
  TEMPORAL_DEV_PORT: port.default(7233),
  // Web UI port of the embedded dev server.
  TEMPORAL_DEV_UI_PORT: port.default(8233),
  // Where local state lives: embedded server database, codec key, local secret store.
  TRIGGER_OPS_DATA_DIR: z.string().trim().min(1).default('.data'),
  // AES-256 key (base64, 32 bytes) for the payload codec; generated into the data dir when unset locally.
  TRIGGER_OPS_CODEC_KEY: optionalString,
  // Port of the controller's HTTP server (/healthz, /status, the status page); Railway sets it for a service.
  PORT: port.default(8080),
  // Token that opens the controller's /status and status page; generated into the data dir at first boot when unset.
  TRIGGER_OPS_ADMIN_TOKEN: z.string().trim().min(16, 'must be at least 16 characters (e.g. openssl rand -base64 32)').max(512).optional(),
  // Pre-built workflow bundle (scripts/bundle-workflows.ts); unset means bundle the workflows from source at start.
  TRIGGER_OPS_WORKFLOW_BUNDLE: optionalString,
  // Installation workflows the worker keeps in memory (about 1-2 MB each); the others replay their short history.
  TRIGGER_OPS_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(10).max(100_000).default(150),
  // Log level of the controller.
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  // DigitalOcean API token (read/write); unset means no DigitalOcean access.
  DIGITALOCEAN_TOKEN: optionalString,
  // DigitalOcean API base URL without /v2; the sandbox's own URL when it stands in.
  DIGITALOCEAN_API_URL: z.url().default('https://api.digitalocean.com'),
  // PEM file of CA certificates the DigitalOcean client trusts besides the system's; the sandbox's CA when it stands in.
  TRIGGER_OPS_CA_CERTS: optionalString,
  // Railway public GraphQL endpoint; the sandbox's own URL when it stands in.
  RAILWAY_API_URL: z.url().default('https://backboard.railway.com/graphql/v2'),
  // Railway account or workspace token (Authorization: Bearer); exclusive with RAILWAY_TOKEN.
  RAILWAY_API_TOKEN: optionalString,
  // Railway project token (Project-Access-Token), scoped to one project environment; exclusive with RAILWAY_API_TOKEN.
  RAILWAY_TOKEN: optionalString,
  // Railway project of the installation (set by Railway when the controller runs there).
  RAILWAY_PROJECT_ID: optionalString,
  // Railway environment of the installation (set by Railway when the controller runs there).
  RAILWAY_ENVIRONMENT_ID: optionalString,
  // The controller's own Railway service (set by Railway): its variables keep the encrypted copy of the secret store.
  RAILWAY_SERVICE_ID: optionalString,
  // Key (at least 32 characters; the template generates it) that encrypts the secret store's copy on Railway.
  TRIGGER_OPS_SECRET_KEY: z.string().trim().min(32, { message: 'must be at least 32 characters (e.g. openssl rand -base64 32)' }).optional(),
  // The installation `trigger-ops controller` keeps deployed and healthy.
  TRIGGER_OPS_INSTALLATION: optionalString,
  // Desired DigitalOcean region of the controller's installation (a change migrates the droplet).
  TRIGGER_OPS_REGION: optionalString,
  // Desired DigitalOcean size slug of the controller's installation (a change migrates the droplet).
  TRIGGER_OPS_SIZE: optionalString,
  // Desired supervisor release tag, e.g. v4.5.12; unset means the webapp's own version (a change upgrades).
  TRIGGER_OPS_SUPERVISOR_VERSION: optionalString,
  // The controller's own private host name (set by Railway inside a service): Postgres is then reached by DATABASE_URL.
  RAILWAY_PRIVATE_DOMAIN: optionalString,
  // Personal access token (tr_pat_…) of a Trigger.dev admin user, for the admin workers API.
  TRIGGER_ADMIN_TOKEN: optionalString,
  // Worker group token (tr_wgt_…) the supervisor uses, when it is not obtained by trigger-ops.
  TRIGGER_WORKER_TOKEN: optionalString,
  // SSH port of the droplets (22 on DigitalOcean; the sandbox's droplets listen elsewhere).
  DROPLET_SSH_PORT: port.default(22),
  // How often waits poll DigitalOcean, Railway and the droplet, in milliseconds.
  TRIGGER_OPS_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(5000),
  // After a droplet create whose answer was lost, how long to look for it before creating again, in seconds.
  TRIGGER_OPS_CREATE_SETTLE_SECONDS: z.coerce.number().int().min(1).max(BOUNDS.createSettleMaxSeconds).default(120),
});

export type Env = z.infer<typeof envSchema>;

/** Names of variables whose values are secrets: never logged, never shown. */
export const SECRET_ENV_NAMES = ['TEMPORAL_API_KEY', 'TRIGGER_OPS_CODEC_KEY', 'TRIGGER_OPS_ADMIN_TOKEN', 'DIGITALOCEAN_TOKEN',
  'RAILWAY_API_TOKEN',
  'RAILWAY_TOKEN',
  'TRIGGER_ADMIN_TOKEN',
  'TRIGGER_WORKER_TOKEN',
  'TRIGGER_OPS_SECRET_KEY',
] as const satisfies ReadonlyArray<keyof Env>;
