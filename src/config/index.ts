import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { envSchema, SECRET_ENV_NAMES, type Env } from './schema';

export { envSchema, SECRET_ENV_NAMES } from './schema';
export type { Env } from './schema';

export interface Config {
  readonly env: Env;
  readonly temporal: {
    /** Undefined when the embedded dev server should be started. */
    readonly address: string | undefined;
    readonly namespace: string;
    readonly taskQueue: string;
    readonly apiKey: string | undefined;
    readonly tls: boolean;
    readonly tlsCertPath: string | undefined;
    readonly tlsKeyPath: string | undefined;
    readonly tlsCaPath: string | undefined;
    readonly cliPath: string | undefined;
    readonly devPort: number;
    readonly devUiPort: number;
  };
  readonly dataDir: string;
  readonly codecKey: string | undefined;
  /** TRIGGER_OPS_ADMIN_TOKEN; undefined means the controller generates one (resolveAdminToken). */
  readonly adminToken: string | undefined;
  /** Port of the controller's HTTP server (PORT). */
  readonly httpPort: number;
  /** Absolute path of a pre-built workflow bundle; undefined means bundle from source. */
  readonly workflowBundle: string | undefined;
  /** Workflows the worker keeps cached (TRIGGER_OPS_MAX_CACHED_WORKFLOWS). */
  readonly maxCachedWorkflows: number;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly droplet: { readonly sshPort: number };
  readonly pollIntervalMs: number;
  /** Absolute path of a PEM file of CA certificates trusted besides the system roots (TRIGGER_OPS_CA_CERTS). */
  readonly caCertsPath: string | undefined;
  readonly digitalocean: {
    readonly token: string | undefined;
    /** Base URL without /v2. */
    readonly apiUrl: string;
    /** How long a create whose answer was lost may still be carried out (ensureDroplet waits it out). */
    readonly createSettleSeconds: number;
  };
  readonly railway: {
    readonly apiUrl: string;
    /** Account or workspace token (Authorization: Bearer). */
    readonly apiToken: string | undefined;
    /** Project token (Project-Access-Token); never set together with apiToken. */
    readonly projectToken: string | undefined;
    readonly projectId: string | undefined;
    readonly environmentId: string | undefined;
    /** The controller's own service (Railway sets RAILWAY_SERVICE_ID there). */
    readonly serviceId: string | undefined;
    /** Set by Railway inside a service: the controller runs in the project's private network. */
    readonly privateDomain: string | undefined;
  };
  /** Encrypts the secret store's copy kept in the controller's Railway service variables. */
  readonly secretKey: string | undefined;
  /** What `trigger-ops controller` serves and keeps; desired values are validated by the reconciler, not here. */
  readonly controller: {
    readonly installation: string | undefined;
    readonly region: string | undefined;
    readonly size: string | undefined;
    readonly supervisorVersion: string | undefined;
  };
  readonly trigger: {
    readonly adminToken: string | undefined;
    readonly workerToken: string | undefined;
  };
}

/** Parses the environment into a typed config; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(formatIssues(parsed.error));
  }
  const e = parsed.data;
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together (mTLS client pair).');
  }
  if (e.RAILWAY_API_TOKEN && e.RAILWAY_TOKEN) {
    throw new ConfigError('Set only one of RAILWAY_API_TOKEN (account or workspace token) and RAILWAY_TOKEN (project token).');
  }
  return {
    env: e,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CERT_PATH),
      tlsCertPath: e.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: e.TEMPORAL_TLS_KEY_PATH,
      tlsCaPath: e.TEMPORAL_TLS_CA_PATH,
      cliPath: e.TEMPORAL_CLI_PATH,
      devPort: e.TEMPORAL_DEV_PORT,
      devUiPort: e.TEMPORAL_DEV_UI_PORT,
    },
    dataDir: resolve(e.TRIGGER_OPS_DATA_DIR),
    codecKey: e.TRIGGER_OPS_CODEC_KEY,
    adminToken: e.TRIGGER_OPS_ADMIN_TOKEN,
    httpPort: e.PORT,
    workflowBundle: e.TRIGGER_OPS_WORKFLOW_BUNDLE === undefined ? undefined : resolve(e.TRIGGER_OPS_WORKFLOW_BUNDLE),
    maxCachedWorkflows: e.TRIGGER_OPS_MAX_CACHED_WORKFLOWS,
    logLevel: e.LOG_LEVEL,
    droplet: { sshPort: e.DROPLET_SSH_PORT },
    pollIntervalMs: e.TRIGGER_OPS_POLL_INTERVAL_MS,
    caCertsPath: e.TRIGGER_OPS_CA_CERTS === undefined ? undefined : resolve(e.TRIGGER_OPS_CA_CERTS),
    digitalocean: { token: e.DIGITALOCEAN_TOKEN, apiUrl: e.DIGITALOCEAN_API_URL, createSettleSeconds: e.TRIGGER_OPS_CREATE_SETTLE_SECONDS },
    railway: {
      apiUrl: e.RAILWAY_API_URL,
      apiToken: e.RAILWAY_API_TOKEN,
      projectToken: e.RAILWAY_TOKEN,
      projectId: e.RAILWAY_PROJECT_ID,
      environmentId: e.RAILWAY_ENVIRONMENT_ID,
      serviceId: e.RAILWAY_SERVICE_ID,
      privateDomain: e.RAILWAY_PRIVATE_DOMAIN,
    },
    secretKey: e.TRIGGER_OPS_SECRET_KEY,
    controller: {
      installation: e.TRIGGER_OPS_INSTALLATION,
      region: e.TRIGGER_OPS_REGION,
      size: e.TRIGGER_OPS_SIZE,
      supervisorVersion: e.TRIGGER_OPS_SUPERVISOR_VERSION,
    },
    trigger: { adminToken: e.TRIGGER_ADMIN_TOKEN, workerToken: e.TRIGGER_WORKER_TOKEN },
  };
}

/** The environment with secret values replaced: the only form of config that may reach a log. */
export function redact(config: Config): Record<string, string> {
  const secret = new Set<string>(SECRET_ENV_NAMES);
  return Object.fromEntries(
    Object.entries(config.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, secret.has(k) ? '[redacted]' : String(v)]),
  );
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      return `${name}: ${issue.message}`;
    })
    .join('; ');
}
