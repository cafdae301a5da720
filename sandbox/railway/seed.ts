import { randomBytes, randomUUID } from 'node:crypto';
import { SANDBOX_WEBAPP_IMAGE, SANDBOX_WEBAPP_TAG } from '../contracts';
import type { RailwayStore } from './store';

/** Secret values the Trigger.dev docker compose once published; v4.5.6+ refuses to boot with them (reference §3). */
export const PUBLISHED_DEFAULT_SECRETS = {
  SESSION_SECRET: '2818143646516f6fffd707b36f334bbb',
  MAGIC_LINK_SECRET: '44da78b7bbb0dfe709cf38931d25dcdd',
  ENCRYPTION_KEY: 'f686147ab967943ebbe9ed3b496e465a',
  MANAGED_WORKER_SECRET: '447c29678f9eaf289e9c4b70d3dd8a7f',
} as const;

export const WEBAPP_SECRET_NAMES = ['SESSION_SECRET', 'MAGIC_LINK_SECRET', 'ENCRYPTION_KEY', 'MANAGED_WORKER_SECRET'] as const;

export interface TriggerTemplateSeed {
  /** Project name; default `Trigger.dev`. */
  readonly projectName?: string;
  /** Public origin of the webapp; the webapp stand-in's listening address when it runs. */
  readonly webappOrigin?: string;
  /** Webapp image; default `ghcr.io/triggerdotdev/trigger.dev:` + SANDBOX_WEBAPP_TAG (v4.5.11). */
  readonly webappImage?: string;
  /**
   * `generated` (default): unique values as the template's `secret()` functions make them; `insecure-defaults`: the
   * published defaults (with ALLOW_INSECURE_DEFAULT_SECRETS=1 unless told otherwise, so the webapp still boots);
   * `missing`: not set at all.
   */
  readonly secrets?: 'generated' | 'insecure-defaults' | 'missing';
  /** Sets ALLOW_INSECURE_DEFAULT_SECRETS=1; default: true with `insecure-defaults`. */
  readonly allowInsecureDefaultSecrets?: boolean;
  /** TRIGGER_BOOTSTRAP_ENABLED=1 with group `bootstrap`; default true. */
  readonly bootstrap?: boolean;
  /** The webapp's first deployment is already SUCCESS (default) or queued at start (health is 503 until it lands). */
  readonly webappDeployed?: boolean;
}

export interface SeededProject {
  readonly projectId: string;
  readonly environmentId: string;
  /** An environment the project token cannot reach. */
  readonly stagingEnvironmentId: string;
  readonly serviceIds: {
    readonly webapp: string;
    readonly postgres: string;
    readonly redis: string;
    readonly clickhouse: string;
    readonly minio: string;
    readonly registry: string;
    /** trigger-ops itself, as the template deploys it: its variables hold the encrypted copy of the secret store. */
    readonly controller: string;
  };
}

/** Service names as the Railway Trigger.dev v4 template names them; references use them as namespaces. */
export const SERVICE_NAMES = {
  webapp: 'Trigger.dev',
  postgres: 'Postgres',
  redis: 'Redis',
  clickhouse: 'ClickHouse',
  minio: 'MinIO',
  registry: 'Registry',
  controller: 'trigger-ops',
} as const;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const alnum = (length: number) =>
  Array.from(randomBytes(length), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]).join('');
const railwayHost = (name: string) => `${name}-production-${hex(2)}.up.railway.app`;

/** Seeds a project laid out like Railway's Trigger.dev v4 template: webapp, Postgres, Redis, ClickHouse, MinIO, registry. */
export function seedTriggerTemplate(store: RailwayStore, seed: TriggerTemplateSeed = {}): SeededProject {
  const project = store.createProject(seed.projectName ?? 'Trigger.dev');
  const production = store.createEnvironment(project.id, 'production');
  const staging = store.createEnvironment(project.id, 'staging');
  const svc = (key: keyof typeof SERVICE_NAMES, image: string) =>
    store.createService(project.id, SERVICE_NAMES[key], { image });

  const webapp = svc('webapp', seed.webappImage ?? `${SANDBOX_WEBAPP_IMAGE}:${SANDBOX_WEBAPP_TAG}`);
  const postgres = svc('postgres', 'ghcr.io/railwayapp-templates/postgres-ssl:17');
  const redis = svc('redis', 'redis:8.2.1');
  const clickhouse = svc('clickhouse', 'clickhouse/clickhouse-server:26.2');
  const minio = svc('minio', 'minio/minio:RELEASE.2025-04-22T22-12-26Z');
  const registry = svc('registry', 'registry:2');
  const controller = svc('controller', 'ghcr.io/trigger-ops/trigger-ops:sandbox');

  const origin = new URL(seed.webappOrigin ?? `https://${railwayHost('trigger')}`);
  const env = production.id;
  const instance = (serviceId: string) => {
    const i = store.instance(env, serviceId);
    if (!i) throw new Error('seed: missing service instance');
    return i;
  };
  instance(webapp.id).serviceDomains.push({ id: randomUUID(), domain: origin.host, targetPort: 3000 });
  instance(webapp.id).healthcheckPath = '/healthcheck';
  instance(minio.id).serviceDomains.push({ id: randomUUID(), domain: railwayHost('minio'), targetPort: 9000 });
  instance(registry.id).serviceDomains.push({ id: randomUUID(), domain: railwayHost('registry'), targetPort: 5000 });
  instance(postgres.id).tcpProxies.push({ id: randomUUID(), domain: 'shinkansen.proxy.rlwy.net', proxyPort: 40000 + (randomBytes(2).readUInt16BE() % 20000), applicationPort: 5432 });
  instance(redis.id).tcpProxies.push({ id: randomUUID(), domain: 'yamabiko.proxy.rlwy.net', proxyPort: 40000 + (randomBytes(2).readUInt16BE() % 20000), applicationPort: 6379 });

  const set = (serviceId: string, values: Record<string, string>) =>
    store.upsertVariables(env, serviceId, values, { skipDeploys: true });

  set(postgres.id, {
    PGDATA: '/var/lib/postgresql/data/pgdata',
    PGHOST: '${{RAILWAY_PRIVATE_DOMAIN}}',
    PGPORT: '5432',
    PGUSER: '${{POSTGRES_USER}}',
    PGPASSWORD: '${{POSTGRES_PASSWORD}}',
    PGDATABASE: '${{POSTGRES_DB}}',
    POSTGRES_USER: 'postgres',
    POSTGRES_PASSWORD: alnum(32),
    POSTGRES_DB: 'railway',
    DATABASE_URL: 'postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}@${{RAILWAY_PRIVATE_DOMAIN}}:5432/${{PGDATABASE}}',
    DATABASE_PUBLIC_URL:
      'postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}@${{RAILWAY_TCP_PROXY_DOMAIN}}:${{RAILWAY_TCP_PROXY_PORT}}/${{PGDATABASE}}',
  });
  set(redis.id, {
    REDISHOST: '${{RAILWAY_PRIVATE_DOMAIN}}',
    REDISPORT: '6379',
    REDISUSER: 'default',
    REDISPASSWORD: '${{REDIS_PASSWORD}}',
    REDIS_PASSWORD: alnum(32),
    REDIS_URL: 'redis://${{REDISUSER}}:${{REDIS_PASSWORD}}@${{REDISHOST}}:${{REDISPORT}}',
  });
  set(clickhouse.id, {
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_PASSWORD: alnum(32),
    CLICKHOUSE_DB: 'default',
  });
  set(minio.id, {
    MINIO_ROOT_USER: alnum(16),
    MINIO_ROOT_PASSWORD: alnum(32),
    MINIO_BROWSER: 'off',
  });
  set(registry.id, {
    REGISTRY_USERNAME: 'trigger',
    REGISTRY_PASSWORD: alnum(32),
    REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
  });

  const scheme = origin.protocol.replace(':', '');
  const webappVars: Record<string, string> = {
    PORT: '3000',
    NODE_ENV: 'production',
    APP_ORIGIN: `${scheme}://\${{RAILWAY_PUBLIC_DOMAIN}}`,
    LOGIN_ORIGIN: `${scheme}://\${{RAILWAY_PUBLIC_DOMAIN}}`,
    API_ORIGIN: `${scheme}://\${{RAILWAY_PUBLIC_DOMAIN}}`,
    DATABASE_URL: `\${{${SERVICE_NAMES.postgres}.DATABASE_URL}}?schema=public&sslmode=disable`,
    DIRECT_URL: `\${{${SERVICE_NAMES.postgres}.DATABASE_URL}}?schema=public&sslmode=disable`,
    REDIS_HOST: `\${{${SERVICE_NAMES.redis}.REDISHOST}}`,
    REDIS_PORT: `\${{${SERVICE_NAMES.redis}.REDISPORT}}`,
    REDIS_USERNAME: `\${{${SERVICE_NAMES.redis}.REDISUSER}}`,
    REDIS_PASSWORD: `\${{${SERVICE_NAMES.redis}.REDIS_PASSWORD}}`,
    REDIS_TLS_DISABLED: 'true',
    CLICKHOUSE_URL: `http://\${{${SERVICE_NAMES.clickhouse}.CLICKHOUSE_USER}}:\${{${SERVICE_NAMES.clickhouse}.CLICKHOUSE_PASSWORD}}@\${{${SERVICE_NAMES.clickhouse}.RAILWAY_PRIVATE_DOMAIN}}:8123?secure=false`,
    RUN_REPLICATION_ENABLED: '1',
    RUN_REPLICATION_CLICKHOUSE_URL: `http://\${{${SERVICE_NAMES.clickhouse}.CLICKHOUSE_USER}}:\${{${SERVICE_NAMES.clickhouse}.CLICKHOUSE_PASSWORD}}@\${{${SERVICE_NAMES.clickhouse}.RAILWAY_PRIVATE_DOMAIN}}:8123?secure=false`,
    OBJECT_STORE_BASE_URL: `https://\${{${SERVICE_NAMES.minio}.RAILWAY_PUBLIC_DOMAIN}}`,
    OBJECT_STORE_ACCESS_KEY_ID: `\${{${SERVICE_NAMES.minio}.MINIO_ROOT_USER}}`,
    OBJECT_STORE_SECRET_ACCESS_KEY: `\${{${SERVICE_NAMES.minio}.MINIO_ROOT_PASSWORD}}`,
    OBJECT_STORE_REGION: 'us-east-1',
    OBJECT_STORE_SERVICE: 's3',
    DEPLOY_REGISTRY_HOST: `\${{${SERVICE_NAMES.registry}.RAILWAY_PUBLIC_DOMAIN}}`,
    DEPLOY_REGISTRY_NAMESPACE: 'trigger',
    DEPLOY_REGISTRY_USERNAME: `\${{${SERVICE_NAMES.registry}.REGISTRY_USERNAME}}`,
    DEPLOY_REGISTRY_PASSWORD: `\${{${SERVICE_NAMES.registry}.REGISTRY_PASSWORD}}`,
    DEPLOY_IMAGE_PLATFORM: 'linux/amd64',
    ADMIN_EMAILS: 'admin@trigger-ops\\.invalid',
    DEFAULT_ENV_EXECUTION_CONCURRENCY_LIMIT: '100',
    DEFAULT_ORG_EXECUTION_CONCURRENCY_LIMIT: '300',
  };
  const secrets = seed.secrets ?? 'generated';
  if (secrets === 'generated') {
    Object.assign(webappVars, {
      SESSION_SECRET: hex(32),
      MAGIC_LINK_SECRET: hex(32),
      ENCRYPTION_KEY: hex(16),
      MANAGED_WORKER_SECRET: hex(32),
    });
  } else if (secrets === 'insecure-defaults') {
    Object.assign(webappVars, PUBLISHED_DEFAULT_SECRETS);
  }
  if (seed.allowInsecureDefaultSecrets ?? secrets === 'insecure-defaults') webappVars['ALLOW_INSECURE_DEFAULT_SECRETS'] = '1';
  if (seed.bootstrap ?? true) {
    webappVars['TRIGGER_BOOTSTRAP_ENABLED'] = '1';
    webappVars['TRIGGER_BOOTSTRAP_WORKER_GROUP_NAME'] = 'bootstrap';
  }
  set(webapp.id, webappVars);

  for (const s of [postgres, redis, clickhouse, minio, registry, controller]) store.deploy(env, s.id, 'seed', { immediate: true });
  store.deploy(env, webapp.id, 'seed', { immediate: seed.webappDeployed ?? true });

  return {
    projectId: project.id,
    environmentId: production.id,
    stagingEnvironmentId: staging.id,
    serviceIds: {
      webapp: webapp.id,
      postgres: postgres.id,
      redis: redis.id,
      clickhouse: clickhouse.id,
      minio: minio.id,
      registry: registry.id,
      controller: controller.id,
    },
  };
}
