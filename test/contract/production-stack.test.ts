// The production stack as files a user deploys: docker-compose.yml against the official Compose specification,
// the Dockerfile's structure, railway.json against Railway's own types, and the pre-built workflow bundle doing
// real work through the same config path the image uses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Ajv2019 from 'ajv/dist/2019';
import { buildClientSchema, type GraphQLInputObjectType, getNamedType, isEnumType, type IntrospectionQuery } from 'graphql';
import { Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../../src/config';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { startController, type RunningController } from '../../src/controller';
import { TEMPORAL_CLI_VERSION } from '../../src/controller/temporal-cli';
import { workflowIds } from '../../src/shared/ids';
import { workerDataConverter } from '../../src/temporal/connection';
import { controllerCheck } from '../../src/workflows';
import composeSpec from '../../vendor/compose-spec/compose-spec.json';
import { quietRuntime, startTestTemporal, TEST_CODEC_KEY, type TestTemporal } from '../helpers/temporal';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  volumes?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText) as Compose;
const services = Object.entries(compose.services);
/** One-shot setup jobs: others wait for them with service_completed_successfully. */
const oneShots = new Set(
  services.flatMap(([, s]) =>
    Object.entries(s.depends_on ?? {})
      .filter(([, d]) => d.condition === 'service_completed_successfully')
      .map(([name]) => name),
  ),
);
const worker = compose.services['worker'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    // The spec still labels subschemas with draft-04 "id" (documentation only, every $ref is a local pointer) and
    // uses a custom "expose" format: neither is checked here.
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
    ajv.removeKeyword('id');
    const validate = ajv.compile(composeSpec);
    const valid = validate(compose);
    assert.ok(valid, JSON.stringify(validate.errors, null, 2));
  });

  it('pins every image to an explicit tag, never latest', () => {
    for (const [name, service] of services) {
      if (service.image === undefined) {
        assert.ok(service.build, `${name} has neither image nor build`);
        continue;
      }
      const match = /^[a-z0-9./-]+:([A-Za-z0-9._-]+)$/.exec(service.image);
      assert.ok(match, `${name}: image ${service.image} has no tag`);
      assert.notEqual(match[1], 'latest', `${name}: image ${service.image} uses latest`);
      assert.match(match[1] ?? '', /\d/, `${name}: tag of ${service.image} names no version`);
    }
  });

  it('gives every long-running service a healthcheck and a restart policy; setup jobs run once', () => {
    assert.deepEqual([...oneShots].sort(), ['temporal-namespace', 'temporal-schema']);
    for (const [name, service] of services) {
      if (oneShots.has(name)) {
        assert.match(service.restart ?? '', /^on-failure/, `${name} must not restart after it succeeded`);
        continue;
      }
      assert.ok(service.healthcheck?.test?.length, `${name} has no healthcheck`);
      assert.equal(service.restart, 'unless-stopped', `${name} restart policy`);
    }
  });

  it('waits for healthy dependencies, never merely started ones', () => {
    for (const [name, service] of services) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        const expected = oneShots.has(dep) ? 'service_completed_successfully' : 'service_healthy';
        assert.equal(condition, expected, `${name} → ${dep}`);
      }
    }
  });

  it('keeps state in named volumes and publishes ports on loopback only', () => {
    const named = Object.keys(compose.volumes ?? {});
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        assert.ok(named.includes(volume.split(':')[0] ?? ''), `${name}: ${volume} is not a named volume`);
      }
      for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port}`);
    }
    assert.ok(compose.services['postgresql']?.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data')));
  });

  it('contains no secret values, only references to .env', () => {
    const secretNames = ['POSTGRES_PASSWORD', 'POSTGRES_PWD', 'SQL_PASSWORD', 'TEMPORAL_API_KEY', 'TRIGGER_OPS_CODEC_KEY',
      'DIGITALOCEAN_TOKEN', 'RAILWAY_API_TOKEN', 'RAILWAY_TOKEN', 'TRIGGER_ADMIN_TOKEN', 'TRIGGER_WORKER_TOKEN'];
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (secretNames.includes(key)) assert.match(value, /^\$\{[A-Z_]+:\?[^}]+\}$/, `${name}.${key} is a literal`);
      }
    }
    assert.doesNotMatch(composeText, /dop_v1_|tr_pat_|tr_wgt_|-----BEGIN/);
  });

  it('runs the worker from the Dockerfile against the temporal service, with its data dir on a volume', () => {
    assert.ok(worker);
    assert.deepEqual(worker.build, { context: '.', dockerfile: 'Dockerfile' });
    assert.deepEqual(worker.command, ['node', 'bin/trigger-ops.js', 'worker']);
    assert.equal(worker.env_file, '.env');
    assert.equal(worker.environment?.['TEMPORAL_ADDRESS'], 'temporal:7233');
    assert.ok(compose.services['temporal']?.ports?.some((p) => p.endsWith(':7233')));
    const dataDir = worker.environment?.['TRIGGER_OPS_DATA_DIR'];
    assert.ok(worker.volumes?.some((v) => v.endsWith(`:${dataDir}`)), 'TRIGGER_OPS_DATA_DIR is not on a volume');
    assert.equal(worker.depends_on?.['temporal']?.condition, 'service_healthy');
    for (const key of Object.keys(worker.environment ?? {})) assert.ok(key in envSchema.shape, `${key} is not a config variable`);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = instructions.filter((l) => l.startsWith('FROM '));
  const runtimeStart = instructions.indexOf(stages[stages.length - 1] ?? '');
  const runtime = instructions.slice(runtimeStart);

  it('is multi-stage on a pinned Debian Node 20 image (core-bridge has no musl build)', () => {
    assert.ok(stages.length >= 2, 'expected a build and a runtime stage');
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    assert.match(image ?? '', /^node:20\.\d+\.\d+-bookworm-slim$/);
    assert.doesNotMatch(instructions.join('\n'), /alpine|:latest\b/i);
  });

  it('installs with npm ci, production dependencies only in the runtime stage', () => {
    assert.ok(instructions.some((l) => /^RUN npm ci\b/.test(l)));
    assert.ok(runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l)));
    assert.ok(!runtime.some((l) => /npm (install|i) /.test(l)));
  });

  it('pre-bundles the workflows at build time and points the worker at the bundle', () => {
    assert.ok(instructions.some((l) => l.startsWith('RUN ') && l.includes('scripts/bundle-workflows.ts dist/workflow-bundle.js')));
    assert.ok(runtime.some((l) => l.startsWith('COPY --from=') && l.includes('dist/workflow-bundle.js')));
    assert.match(dockerfile, /TRIGGER_OPS_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
  });

  it('installs the pinned temporal CLI, checksum-verified, with the script a user can run too', async () => {
    assert.ok(instructions.some((l) => l.startsWith('RUN ') && l.includes('scripts/install-temporal.ts /app/dist/bin')));
    assert.ok(runtime.some((l) => l === 'COPY --from=build /app/dist/bin/temporal /usr/local/bin/temporal'));
    assert.match(dockerfile, /TEMPORAL_CLI_PATH=\/usr\/local\/bin\/temporal/);
    const target = mkdtempSync(join(tmpdir(), 'trigger-ops-temporal-install-'));
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/install-temporal.ts', target], { cwd: root });
      assert.equal(stdout.trim(), join(target, 'temporal'));
      const version = await run(join(target, 'temporal'), ['--version']);
      assert.match(version.stdout, new RegExp(`temporal version ${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')} `));
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('runs as a non-root user with a healthcheck and the controller command', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).pop();
    assert.ok(user && !/^USER (root|0)(:|$)/.test(user), `runtime user: ${user ?? 'none'}`);
    assert.ok(runtime.some((l) => l.startsWith('HEALTHCHECK ') && l.includes('scripts/worker-healthcheck.ts')));
    assert.equal(runtime.filter((l) => l.startsWith('CMD ')).pop(), 'CMD ["node", "bin/trigger-ops.js", "controller"]');
    assert.ok(!runtime.some((l) => l.startsWith('VOLUME')), 'Railway rejects VOLUME');
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.env', '.data', 'node_modules', '.git']) assert.ok(ignored.includes(entry), entry);
  });
});

describe('railway.json', () => {
  const config = JSON.parse(read('railway.json')) as {
    $schema: string;
    build: Record<string, unknown>;
    deploy: Record<string, unknown>;
  };
  // Railway's GraphQL schema (vendor/railway) types the service settings config-as-code sets; the builder values
  // and the build keys come from docs.railway.com/config-as-code/reference.
  const railwaySchema = buildClientSchema(
    (JSON.parse(read('vendor/railway/schema.json')) as { data: IntrospectionQuery }).data,
  );
  const settings = railwaySchema.getType('ServiceInstanceUpdateInput') as GraphQLInputObjectType;

  it('declares Railway schema and only known sections', () => {
    assert.equal(config.$schema, 'https://railway.com/railway.schema.json');
    assert.deepEqual(Object.keys(config).sort(), ['$schema', 'build', 'deploy']);
  });

  it('builds from the Dockerfile', () => {
    const buildKeys = ['builder', 'watchPatterns', 'buildCommand', 'dockerfilePath', 'railpackVersion',
      'nixpacksConfigPath', 'nixpacksPlan', 'nixpacksVersion'];
    for (const key of Object.keys(config.build)) assert.ok(buildKeys.includes(key), `build.${key} is not documented`);
    assert.equal(config.build['builder'], 'DOCKERFILE');
    assert.equal(config.build['dockerfilePath'], 'Dockerfile');
  });

  it('deploy settings exist on a Railway service with the types Railway uses', () => {
    const fields = settings.getFields();
    for (const [key, value] of Object.entries(config.deploy)) {
      // Config-as-code only (railway.schema.json): a deploy waits until a volume is mounted there. No service field.
      if (key === 'requiredMountPath') {
        assert.equal(typeof value, 'string');
        continue;
      }
      const field = fields[key];
      assert.ok(field, `deploy.${key} is not a Railway service setting`);
      const type = getNamedType(field.type);
      if (isEnumType(type)) assert.ok(type.getValue(String(value)), `deploy.${key}: ${String(value)} is not a ${type.name}`);
      else if (type.name === 'Int') assert.ok(Number.isInteger(value), `deploy.${key} must be an integer`);
      else if (type.name === 'String') assert.equal(typeof value, 'string', `deploy.${key} must be a string`);
    }
  });

  it('starts the controller on its volume, checks /healthz, restarts it on failure and lets it drain longer than its shutdown', () => {
    assert.equal(config.deploy['startCommand'], 'node bin/trigger-ops.js controller');
    assert.equal(config.deploy['healthcheckPath'], '/healthz');
    // The image's data dir (TRIGGER_OPS_DATA_DIR): the embedded Temporal server's SQLite and the local secret store.
    assert.equal(config.deploy['requiredMountPath'], '/data');
    assert.match(read('Dockerfile'), /TRIGGER_OPS_DATA_DIR=\/data/);
    assert.equal(config.deploy['restartPolicyType'], 'ON_FAILURE');
    assert.equal(config.deploy['numReplicas'], 1, 'one controller per volume: the embedded server is a SQLite file');
    assert.ok(Number(config.deploy['drainingSeconds']) > 30, 'drainingSeconds must exceed shutdownForceTime (30 s)');
  });
});

describe('the pre-built workflow bundle (scripts/bundle-workflows.ts)', () => {
  let dir: string;
  let bundlePath: string;
  let t: TestTemporal;

  before(async () => {
    quietRuntime();
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-bundle-'));
    bundlePath = join(dir, 'dist', 'workflow-bundle.js');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/bundle-workflows.ts', bundlePath], { cwd: root });
    assert.match(stdout, /workflow bundle written to .*workflow-bundle\.js/);
    t = await startTestTemporal({ codecKey: TEST_CODEC_KEY });
  });

  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays the recorded histories', async () => {
    const historiesDir = join(root, 'test', 'replay', 'histories');
    const history = JSON.parse(readFileSync(join(historiesDir, 'controller-check.json'), 'utf8')) as unknown;
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: bundlePath }, dataConverter: workerDataConverter(new EncryptionCodec(TEST_CODEC_KEY)) },
      history as Parameters<typeof Worker.runReplayHistory>[1],
      'controller-check.json',
    );
  });

  describe('a controller configured with TRIGGER_OPS_WORKFLOW_BUNDLE', () => {
    let controller: RunningController;
    let env: Record<string, string>;

    before(async () => {
      env = {
        TEMPORAL_ADDRESS: t.address,
        TEMPORAL_TASK_QUEUE: t.taskQueue,
        TRIGGER_OPS_DATA_DIR: join(dir, 'data'),
        TRIGGER_OPS_CODEC_KEY: TEST_CODEC_KEY.toString('base64'),
        TRIGGER_OPS_WORKFLOW_BUNDLE: bundlePath,
      };
      controller = await startController(loadConfig(env), () => undefined);
    });

    after(async () => {
      await controller.stop();
    });

    it('runs a workflow end to end', async () => {
      const result = await controller.client.workflow.execute(controllerCheck, {
        taskQueue: t.taskQueue,
        workflowId: workflowIds.controllerCheck(),
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
        args: [{ reason: 'pre-built bundle' }],
      });
      assert.equal(result.reason, 'pre-built bundle');
      assert.equal(result.dataDirWritable, true);
    });

    it('is reported healthy by the container healthcheck; a queue nobody polls is not', async () => {
      const script = ['--import', 'tsx', 'scripts/worker-healthcheck.ts'];
      const healthy = await run(process.execPath, script, { cwd: root, env: { ...process.env, ...env } });
      assert.match(healthy.stdout, /^healthy: worker \*@\S+ polling "test-[0-9a-f]+"/);
      const unhealthy = await run(process.execPath, script, {
        cwd: root,
        env: { ...process.env, ...env, TEMPORAL_TASK_QUEUE: 'nobody-polls-this-queue' },
      }).then(
        () => assert.fail('the healthcheck passed for a queue without a worker'),
        (err: { code?: number; stdout?: string }) => err,
      );
      assert.equal(unhealthy.code, 1);
      assert.match(unhealthy.stdout ?? '', /^unhealthy: no recent workflow and activity poll/);
    });
  });
});
