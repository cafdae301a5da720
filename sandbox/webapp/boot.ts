import type { DeploymentRecord } from '../railway';
import type { WorkerGroupRegistry } from './worker-groups';

/**
 * The webapp's own list of published defaults (apps/webapp env validation, v4.5.6+). The controller's preflight keeps
 * its own copy on purpose: this one plays the webapp, that one the operator.
 */
const KNOWN_INSECURE_SECRETS = new Set([
  'managed-secret',
  '2818143646516f6fffd707b36f334bbb',
  '44da78b7bbb0dfe709cf38931d25dcdd',
  'f686147ab967943ebbe9ed3b496e465a',
  '447c29678f9eaf289e9c4b70d3dd8a7f',
]);
const CHECKED_SECRETS = ['SESSION_SECRET', 'MAGIC_LINK_SECRET', 'ENCRYPTION_KEY', 'MANAGED_WORKER_SECRET'] as const;
const REQUIRED = ['SESSION_SECRET', 'MAGIC_LINK_SECRET', 'ENCRYPTION_KEY', 'DATABASE_URL'] as const;

/** The webapp's MANAGED_WORKER_SECRET default when the variable is unset. */
export const DEFAULT_MANAGED_WORKER_SECRET = 'managed-secret';

/** Release tag of the deployment's image (`v4.5.12`), if it has one. */
export function webappVersion(image: string | undefined): [number, number, number] | undefined {
  const m = /:v(\d+)\.(\d+)\.(\d+)$/.exec(image ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v: [number, number, number] | undefined, min: [number, number, number]): boolean {
  if (!v) return true;
  for (let i = 0; i < 3; i++) {
    if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > (min[i] ?? 0);
  }
  return true;
}

/**
 * What the webapp does when its container starts: validates its environment (crashing like the real one on missing
 * or insecure secrets), then bootstraps the worker group and prints the one-time token banner.
 */
export function bootWebapp(deployment: DeploymentRecord, registry: WorkerGroupRegistry): { crashed: boolean; logs: string[] } {
  const env = deployment.variables;
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length > 0) {
    return {
      crashed: true,
      logs: [
        '❌ Invalid environment variables:',
        ...missing.map((name) => `  ${name}: Required`),
        'Error: Invalid environment variables',
      ],
    };
  }
  // env.server.ts: EMAIL_TRANSPORT is z.enum(["resend", "smtp", "aws-ses"]), SMTP_PORT z.coerce.number().
  const emailProblems = [
    ...(env['EMAIL_TRANSPORT'] && !['resend', 'smtp', 'aws-ses'].includes(env['EMAIL_TRANSPORT'])
      ? [`  EMAIL_TRANSPORT: Invalid enum value. Expected 'resend' | 'smtp' | 'aws-ses', received '${env['EMAIL_TRANSPORT']}'`]
      : []),
    ...(env['SMTP_PORT'] !== undefined && Number.isNaN(Number(env['SMTP_PORT'])) ? ['  SMTP_PORT: Expected number, received nan'] : []),
  ];
  if (emailProblems.length > 0) {
    return { crashed: true, logs: ['❌ Invalid environment variables:', ...emailProblems, 'Error: Invalid environment variables'] };
  }
  const encryptionKey = env['ENCRYPTION_KEY'] ?? '';
  if (Buffer.byteLength(encryptionKey) !== 32) {
    return {
      crashed: true,
      logs: [`❌ Invalid environment variables:`, `  ENCRYPTION_KEY: must be exactly 32 bytes, got ${Buffer.byteLength(encryptionKey)}`],
    };
  }
  if (atLeast(webappVersion(deployment.image), [4, 5, 6]) && env['ALLOW_INSECURE_DEFAULT_SECRETS'] !== '1') {
    const insecure = CHECKED_SECRETS.filter((n) => KNOWN_INSECURE_SECRETS.has(env[n] ?? (n === 'MANAGED_WORKER_SECRET' ? DEFAULT_MANAGED_WORKER_SECRET : '')));
    if (insecure.length > 0) {
      return {
        crashed: true,
        logs: insecure.map(
          (n) =>
            `Error: ${n} must not be a known-insecure published default. Set a unique value (openssl rand -hex 32), or ALLOW_INSECURE_DEFAULT_SECRETS=1 to bypass.`,
        ),
      };
    }
  }
  const logs = ['Running database migrations', `✅ server ready: http://localhost:${env['PORT'] ?? '3000'}`];
  const groupName = env['TRIGGER_BOOTSTRAP_WORKER_GROUP_NAME'];
  if (env['TRIGGER_BOOTSTRAP_ENABLED'] === '1' && groupName) {
    if (registry.byName(groupName)) {
      logs.push(`[bootstrap] Worker group ${groupName} already exists`);
    } else {
      const { token, workerGroup } = registry.create({ name: groupName });
      logs.push(...bootstrapBanner(workerGroup.name, token.plaintext, env['TRIGGER_BOOTSTRAP_WORKER_TOKEN_PATH']));
    }
  }
  return { crashed: false, logs };
}

/** The banner apps/webapp/app/bootstrap.ts prints, one log line per non-empty stdout line. */
function bootstrapBanner(group: string, token: string, tokenPath: string | undefined): string[] {
  const text = [
    '==========================',
    'Trigger.dev Bootstrap - Worker Token',
    '',
    'WARNING: This will only be shown once. Save it now!',
    '',
    'Worker group:',
    group,
    '',
    'Token:',
    token,
    '',
    'If using docker compose, set:',
    `TRIGGER_WORKER_TOKEN=${token}`,
    '',
    ...(tokenPath ? ['Or, if using a file:', `TRIGGER_WORKER_TOKEN=file://${tokenPath}`] : []),
    '',
    '==========================',
  ];
  return text.filter((line) => line.trim() !== '');
}
