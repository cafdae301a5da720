// The supervisor's environment as the real supervisor reads it: the compose file and .env trigger-ops writes,
// interpolated the way compose does, parsed with v4.5.12's own schema (vendor/trigger/v4.5.12/supervisor-env.ts).
// A value the real supervisor would refuse at start fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildDesiredSupervisorEnv, buildSupervisorCompose, resourceMonitorTotals, type DesiredSupervisorEnvInput } from '../../src/remote/compose';
import { SIZES } from '../../sandbox/digitalocean/catalog';
import { loadComposeProject } from '../../sandbox/droplets/compose';
import { parseSupervisorEnv } from '../../vendor/trigger/v4.5.12/supervisor-env';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The supervisor container's environment for this .env, as `docker compose up` would start it. */
function containerEnv(env: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'supervisor-env-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'compose.yaml'), buildSupervisorCompose());
  writeFileSync(join(dir, '.env'), env, { mode: 0o600 });
  const project = loadComposeProject({ root: '/', cwd: dir, projectDirectory: dir, files: [], envFiles: [], projectName: undefined, shellEnv: {} });
  const supervisor = project.services.find((s) => s.name === 'supervisor');
  assert.ok(supervisor, 'the compose file has a supervisor service');
  return { ...supervisor.environment };
}

const desired = (droplet: DesiredSupervisorEnvInput['droplet'], extra: Partial<DesiredSupervisorEnvInput> = {}): DesiredSupervisorEnvInput => ({
  supervisorVersion: 'v4.5.12',
  apiUrl: 'https://trigger.example.com/',
  workerToken: 'tr_wgt_abcdefghijABCDEFGHIJ0123456789abcdefghij',
  workloadTokenSecret: '5e'.repeat(32),
  webappVariables: { MANAGED_WORKER_SECRET: '0123456789abcdef0123456789abcdef' },
  droplet,
  dockerApiVersion: '1.47',
  ...extra,
});

const parse = (env: Record<string, string>) => parseSupervisorEnv(env);

describe('the supervisor environment trigger-ops writes, against v4.5.12 env.ts', () => {
  for (const size of SIZES) {
    it(`parses for a ${size.slug} droplet, with the values meant`, () => {
      const name = `tops-prod-g${size.vcpus}`;
      const env = containerEnv(buildDesiredSupervisorEnv(desired({ name, vcpus: size.vcpus, memoryMb: size.memory })));
      const parsed = parse(env);
      assert.ok(parsed.success, parsed.success ? '' : parsed.issues.join('\n'));
      const v = parsed.data;
      const totals = resourceMonitorTotals({ vcpus: size.vcpus, memoryMb: size.memory });
      assert.equal(v.TRIGGER_WORKER_INSTANCE_NAME, name);
      assert.equal(v.WORKLOAD_TOKEN_ENFORCEMENT, 'enforce');
      assert.equal(v.WORKLOAD_TOKEN_SECRET, '5e'.repeat(32));
      assert.equal(v.DOCKER_API_VERSION, 'v1.47');
      assert.equal(v.RESOURCE_MONITOR_ENABLED, true);
      assert.equal(v.RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL, totals.cpu);
      assert.equal(v.RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB, totals.memoryGb);
      assert.ok(totals.cpu > 0.25 && totals.cpu < size.vcpus, `${totals.cpu} of ${size.vcpus} vCPUs`);
      assert.ok(totals.memoryGb > 0.25 && totals.memoryGb < size.memory / 1024, `${totals.memoryGb} GB of ${size.memory} MiB`);
      assert.equal(v.TRIGGER_API_URL, 'https://trigger.example.com');
      assert.equal(v.OTEL_EXPORTER_OTLP_ENDPOINT, 'https://trigger.example.com/otel');
      assert.equal(v.DOCKER_ENFORCE_MACHINE_PRESETS, true);
      assert.equal(v.DOCKER_AUTOREMOVE_EXITED_CONTAINERS, true);
      assert.equal(v.DEBUG, false);
    });
  }

  it('parses with registry credentials and every variable it sets is one the schema reads', () => {
    const env = containerEnv(
      buildDesiredSupervisorEnv(
        desired(
          { name: 'tops-prod-g1', vcpus: 2, memoryMb: 4096 },
          {
            webappVariables: {
              MANAGED_WORKER_SECRET: '0123456789abcdef0123456789abcdef',
              DEPLOY_REGISTRY_HOST: 'registry.digitalocean.com',
              DEPLOY_REGISTRY_USERNAME: 'ops',
              DEPLOY_REGISTRY_PASSWORD: 'p#ss $HOME "q"',
            },
          },
        ),
      ),
    );
    const parsed = parse(env);
    assert.ok(parsed.success, parsed.success ? '' : parsed.issues.join('\n'));
    assert.equal(parsed.data.DOCKER_REGISTRY_PASSWORD, 'p#ss $HOME "q"');
    // DOCKER_HOST is dockerode's (the supervisor passes no host of its own), not the schema's.
    const unread = Object.keys(env).filter((name) => !(name in parsed.data) && name !== 'DOCKER_HOST');
    assert.deepEqual(unread, [], 'every variable written is read by the v4.5.12 supervisor');
  });

  describe('a value the real supervisor refuses at start fails', () => {
    const good = () => containerEnv(buildDesiredSupervisorEnv(desired({ name: 'tops-prod-g1', vcpus: 2, memoryMb: 4096 })));
    const cases: Array<[string, (env: Record<string, string>) => void, RegExp]> = [
      ['a CPU total that is not a number', (e) => (e['RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL'] = 'abc'), /^RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL: /],
      ['a memory total that is not a number', (e) => (e['RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB'] = '4GB'), /^RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB: /],
      ['enforced tokens without a secret', (e) => delete e['WORKLOAD_TOKEN_SECRET'], /^WORKLOAD_TOKEN_SECRET: .*required when WORKLOAD_TOKEN_ENFORCEMENT/],
      ['an enforcement mode it does not know', (e) => (e['WORKLOAD_TOKEN_ENFORCEMENT'] = 'on'), /^WORKLOAD_TOKEN_ENFORCEMENT: /],
      ['a webapp URL without a scheme', (e) => (e['TRIGGER_API_URL'] = 'trigger.example.com'), /^TRIGGER_API_URL: /],
      ['no OTLP endpoint', (e) => delete e['OTEL_EXPORTER_OTLP_ENDPOINT'], /^OTEL_EXPORTER_OTLP_ENDPOINT: /],
    ];
    for (const [what, spoil, where] of cases) {
      it(what, () => {
        const env = good();
        spoil(env);
        const parsed = parse(env);
        assert.equal(parsed.success, false, what);
        assert.ok(!parsed.success && parsed.issues.some((i) => where.test(i)), parsed.success ? '' : parsed.issues.join('\n'));
      });
    }

    it('DOCKER_API_VERSION is any string to the schema, so the builder refuses a malformed one itself', () => {
      const env = good();
      env['DOCKER_API_VERSION'] = 'latest';
      assert.equal(parse(env).success, true, 'v4.5.12 takes any string here and fails only at its first Docker call');
      assert.throws(() => buildDesiredSupervisorEnv(desired({ name: 'tops-prod-g1', vcpus: 2, memoryMb: 4096 }, { dockerApiVersion: 'v1.47' })), /dockerApiVersion/);
    });
  });
});
