import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  buildDesiredSupervisorEnv,
  buildSupervisorCompose,
  buildSupervisorEnv,
  configHash,
  formatEnvLine,
  resourceMonitorTotals,
  SUPERVISOR_CONTAINER,
  type SupervisorEnvInput,
} from '../../src/remote/compose';

interface Service {
  image: string;
  restart: string;
  environment: Record<string, string>;
  healthcheck?: { test: string[] };
  logging?: { driver: string; options: Record<string, string> };
  networks: string[];
  ports?: unknown;
}

const base: SupervisorEnvInput = {
  imageTag: 'v4.5.12',
  apiUrl: 'https://trigger.example.com/',
  workerToken: 'tr_wgt_abcdefghijABCDEFGHIJ0123456789abcdefghij',
  managedWorkerSecret: '0123456789abcdef0123456789abcdef',
  workerInstanceName: 'tops-prod-g1',
  workloadTokenSecret: 'ab'.repeat(32),
  dockerApiVersion: '1.47',
  capacity: { vcpus: 2, memoryMb: 4096 },
};

function findKey(value: unknown, key: string, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => findKey(v, key, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [...(k === key ? [`${path}.${k}`] : []), ...findKey(v, key, `${path}.${k}`)]);
  }
  return [];
}

describe('buildSupervisorCompose', () => {
  const yaml = buildSupervisorCompose();
  const doc = parse(yaml) as { name: string; services: Record<string, Service> };
  const supervisor = doc.services['supervisor']!;

  it('publishes no ports at all (8020 and 9090 stay off every interface)', () => {
    assert.deepEqual(findKey(doc, 'ports'), []);
    assert.deepEqual(findKey(doc, 'expose'), []);
    assert.doesNotMatch(yaml, /^\s*ports:/m);
    assert.ok(!('METRICS_HOST' in supervisor.environment), 'metrics stay on the container loopback');
  });

  it('pins the image through TRIGGER_IMAGE_TAG and names the container as the agent expects', () => {
    assert.match(supervisor.image, /^ghcr\.io\/triggerdotdev\/supervisor:\$\{TRIGGER_IMAGE_TAG:\?/);
    assert.equal(`${doc.name}-supervisor-1`, SUPERVISOR_CONTAINER);
  });

  it('runs the supervisor the way reference §5b recommends, with the known fixes', () => {
    assert.equal(supervisor.restart, 'unless-stopped');
    assert.equal(supervisor.environment['DOCKER_AUTOREMOVE_EXITED_CONTAINERS'], '1');
    assert.equal(supervisor.environment['DOCKER_ENFORCE_MACHINE_PRESETS'], '1');
    assert.equal(supervisor.environment['TRIGGER_WORKER_INSTANCE_NAME'], '${TRIGGER_WORKER_INSTANCE_NAME:?}');
    assert.equal(supervisor.environment['DOCKER_RUNNER_NETWORKS'], 'supervisor');
    assert.ok(!('ENFORCE_MACHINE_PRESETS' in supervisor.environment));
    assert.equal(supervisor.environment['WORKLOAD_TOKEN_ENFORCEMENT'], 'enforce');
    assert.equal(supervisor.environment['WORKLOAD_TOKEN_SECRET'], '${WORKLOAD_TOKEN_SECRET:?}');
    assert.equal(supervisor.environment['DOCKER_API_VERSION'], '${DOCKER_API_VERSION:?}');
    assert.equal(supervisor.environment['RESOURCE_MONITOR_ENABLED'], '1');
    assert.ok(supervisor.healthcheck?.test.join(' ').includes('8020/health'));
    assert.equal(supervisor.logging?.driver, 'local');
    assert.equal(supervisor.logging?.options['max-size'], '20m');
    assert.ok(!supervisor.networks.includes('host'));
    assert.match(doc.services['docker-proxy']!.image, /:[0-9]/, 'docker-proxy pinned');
    assert.doesNotMatch(yaml, /&\w+|\*\w+/, 'no YAML anchors or aliases');
  });

  it('holds no secret values: each comes from the .env, and every required variable is in it', () => {
    const env = buildSupervisorEnv(base);
    assert.ok(!yaml.includes(base.workerToken) && !yaml.includes(base.managedWorkerSecret) && !yaml.includes(base.workloadTokenSecret));
    const required = [...yaml.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]!);
    for (const name of ['TRIGGER_WORKER_TOKEN', 'MANAGED_WORKER_SECRET', 'WORKLOAD_TOKEN_SECRET']) assert.ok(required.includes(name), name);
    for (const name of required) assert.match(env, new RegExp(`^${name}=.+$`, 'm'), name);
  });

  it('rejects unpinned proxy images', () => {
    assert.throws(() => buildSupervisorCompose({ dockerProxyImage: 'tecnativa/docker-socket-proxy' }), /dockerProxyImage/);
  });
});

describe('buildSupervisorEnv', () => {
  it('writes each variable once, with the tag line bare for the agent', () => {
    const env = buildSupervisorEnv(base);
    assert.deepEqual(env.split('\n').filter((l) => l && !l.startsWith('#')), [
      'TRIGGER_IMAGE_TAG=v4.5.12',
      'TRIGGER_API_URL=https://trigger.example.com',
      'OTEL_EXPORTER_OTLP_ENDPOINT=https://trigger.example.com/otel',
      `TRIGGER_WORKER_TOKEN=${base.workerToken}`,
      `MANAGED_WORKER_SECRET=${base.managedWorkerSecret}`,
      'TRIGGER_WORKER_INSTANCE_NAME=tops-prod-g1',
      `WORKLOAD_TOKEN_SECRET=${base.workloadTokenSecret}`,
      'DOCKER_API_VERSION=v1.47',
      'RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL=1.5',
      'RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB=3',
      'DOCKER_REGISTRY_URL=',
      'DOCKER_REGISTRY_USERNAME=',
      'DOCKER_REGISTRY_PASSWORD=',
      'SUPERVISOR_DEBUG=0',
    ]);
    assert.ok(env.endsWith('\n'));
  });

  it('single-quotes values compose would otherwise interpolate or cut', () => {
    const env = buildSupervisorEnv({
      ...base,
      otelEndpoint: 'https://otel.example.com/otel',
      registry: { url: 'registry.digitalocean.com', username: 'ops', password: 'p#ss $HOME ${X} "q" `id`' },
    });
    assert.match(env, /^DOCKER_REGISTRY_PASSWORD='p#ss \$HOME \$\{X\} "q" `id`'$/m);
    assert.match(env, /^OTEL_EXPORTER_OTLP_ENDPOINT=https:\/\/otel\.example\.com\/otel$/m);
  });

  it('refuses values a compose env file cannot hold safely, naming the variable', () => {
    assert.throws(() => formatEnvLine('DOCKER_REGISTRY_PASSWORD', "it's"), /DOCKER_REGISTRY_PASSWORD contains a quote/);
    assert.throws(() => formatEnvLine('X', 'a\\'), /backslash/);
    assert.throws(() => formatEnvLine('X', 'a\nB=c'), /line break/);
    assert.throws(() => formatEnvLine('bad-name', 'x'), /Invalid env variable name/);
  });

  it('validates its input with the accepted forms in the message', () => {
    assert.throws(() => buildSupervisorEnv({ ...base, imageTag: 'latest' }), /imageTag: must be a pinned release tag/);
    assert.throws(() => buildSupervisorEnv({ ...base, imageTag: '$(x)' }), /imageTag: must be a Docker image tag/);
    assert.throws(() => buildSupervisorEnv({ ...base, workerToken: 'nope' }), /workerToken: must be a worker group token/);
    assert.throws(() => buildSupervisorEnv({ ...base, apiUrl: 'ftp://x' }), /apiUrl/);
    assert.throws(() => buildSupervisorEnv({ ...base, workerInstanceName: 'has space' }), /workerInstanceName/);
    assert.throws(() => buildSupervisorEnv({ ...base, workloadTokenSecret: 'short' }), /workloadTokenSecret: must be 64 hex characters/);
    assert.throws(() => buildSupervisorEnv({ ...base, dockerApiVersion: 'v1.47' }), /dockerApiVersion: must be a Docker API version such as "1.47"/);
    assert.throws(() => buildSupervisorEnv({ ...base, capacity: { vcpus: 0, memoryMb: 4096 } }), /capacity\.vcpus/);
  });
});

describe('resourceMonitorTotals', () => {
  it('leaves half a vCPU and 1 GiB for the supervisor, docker-proxy and dockerd, at most a quarter of a small droplet', () => {
    assert.deepEqual(resourceMonitorTotals({ vcpus: 1, memoryMb: 1024 }), { cpu: 0.75, memoryGb: 0.75 });
    assert.deepEqual(resourceMonitorTotals({ vcpus: 2, memoryMb: 4096 }), { cpu: 1.5, memoryGb: 3 });
    assert.deepEqual(resourceMonitorTotals({ vcpus: 4, memoryMb: 8192 }), { cpu: 3.5, memoryGb: 7 });
    assert.deepEqual(resourceMonitorTotals({ vcpus: 8, memoryMb: 16384 }), { cpu: 7.5, memoryGb: 15 });
    assert.deepEqual(resourceMonitorTotals({ vcpus: 1, memoryMb: 512 }), { cpu: 0.75, memoryGb: 0.38 });
  });
});

describe('buildDesiredSupervisorEnv', () => {
  const desired = {
    supervisorVersion: 'v4.5.12',
    apiUrl: 'https://trigger.example.com',
    workerToken: base.workerToken,
    workloadTokenSecret: base.workloadTokenSecret,
    webappVariables: { MANAGED_WORKER_SECRET: base.managedWorkerSecret, SESSION_SECRET: 'not for the droplet' },
    droplet: { name: 'tops-prod-g2', vcpus: 4, memoryMb: 8192 },
    dockerApiVersion: '1.51',
  };

  it('names the supervisor after its droplet and sizes it to the droplet', () => {
    const env = buildDesiredSupervisorEnv(desired);
    assert.match(env, /^TRIGGER_WORKER_INSTANCE_NAME=tops-prod-g2$/m);
    assert.match(env, /^DOCKER_API_VERSION=v1\.51$/m);
    assert.match(env, /^RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL=3\.5$/m);
    assert.match(env, /^RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB=7$/m);
    assert.doesNotMatch(env, /not for the droplet/);
  });

  it('takes pull credentials only when all three registry variables are set', () => {
    const registry = { DEPLOY_REGISTRY_HOST: 'registry.digitalocean.com', DEPLOY_REGISTRY_USERNAME: 'ops', DEPLOY_REGISTRY_PASSWORD: 'pw-123456' };
    const all = buildDesiredSupervisorEnv({ ...desired, webappVariables: { ...desired.webappVariables, ...registry } });
    assert.match(all, /^DOCKER_REGISTRY_URL=registry\.digitalocean\.com$/m);
    assert.match(all, /^DOCKER_REGISTRY_PASSWORD=pw-123456$/m);
    const partial = buildDesiredSupervisorEnv({ ...desired, webappVariables: { ...desired.webappVariables, DEPLOY_REGISTRY_HOST: 'x.example.com' } });
    assert.match(partial, /^DOCKER_REGISTRY_URL=$/m);
  });
});

describe('configHash', () => {
  it('is the documented sha256 of the per-file sha256s, as sha256sum computes it on the droplet', () => {
    const compose = buildSupervisorCompose();
    const env = buildSupervisorEnv(base);
    const script = [
      'set -euo pipefail',
      "{ printf 'trigger-ops-config-v1\\n'; printf '%s' \"$1\" | sha256sum | cut -d' ' -f1; printf '%s' \"$2\" | sha256sum | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1",
    ].join('\n');
    const res = spawnSync('bash', ['-c', script, 'hash', compose, env], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(configHash(compose, env), res.stdout.trim());
  });

  it('changes with either file and does not depend on where one ends and the other begins', () => {
    assert.notEqual(configHash('a', 'bc'), configHash('ab', 'c'));
    assert.notEqual(configHash('a', 'b'), configHash('a', 'b\n'));
    assert.match(configHash('a', 'b'), /^[0-9a-f]{64}$/);
  });
});
