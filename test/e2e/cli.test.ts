import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleWorkflows } from '../../scripts/bundle-workflows';
import { fetchTrustingConfig } from '../helpers/https';
import { spawnCli, type Spawned } from '../helpers/processes';
import { startTestTemporal, type TestTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/**
 * The CLI as a user runs it: `trigger-ops sandbox up`, `trigger-ops worker`, and then deploy → status → upgrade →
 * migrate → teardown, each a separate process talking to Temporal only.
 */
describe('trigger-ops CLI end to end on the sandbox', () => {
  let temporal: TestTemporal;
  let dir: string;
  let sandbox: Spawned;
  let worker: Spawned;
  let env: Record<string, string>;
  let sandboxEnv: Record<string, string>;

  const cli = async (args: string[], expectCode = 0, options: { stdin?: string } = {}): Promise<string> => {
    const run = spawnCli(args, env, options);
    const code = await run.exited;
    assert.equal(code, expectCode, `trigger-ops ${args.join(' ')} exited ${code}:\n${run.output()}`);
    return run.output();
  };

  const dropletsOf = async (installationId: string): Promise<{ name: string; size_slug: string }[]> => {
    const res = await fetchTrustingConfig(sandboxEnv)(`${sandboxEnv['DIGITALOCEAN_API_URL']}/v2/droplets?tag_name=trigger-ops-${installationId}`, {
      headers: { authorization: `Bearer ${sandboxEnv['DIGITALOCEAN_TOKEN']}` },
    });
    return ((await res.json()) as { droplets: { name: string; size_slug: string }[] }).droplets;
  };

  before(async () => {
    temporal = await startTestTemporal();
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-e2e-'));
    const bundle = await bundleWorkflows(join(dir, 'workflow-bundle.js'));
    sandbox = spawnCli(['sandbox', 'up', '--json'], { TRIGGER_OPS_DATA_DIR: join(dir, 'sandbox') });
    const line = await waitFor('sandbox endpoints', () => sandbox.output().split('\n').find((l) => l.startsWith('{')), 60_000, 100);
    sandboxEnv = (JSON.parse(line) as { env: Record<string, string> }).env;
    env = {
      ...sandboxEnv,
      TRIGGER_OPS_POLL_INTERVAL_MS: '300',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: temporal.taskQueue,
      TRIGGER_OPS_CODEC_KEY: Buffer.alloc(32, 7).toString('base64'),
      TRIGGER_OPS_DATA_DIR: join(dir, 'controller'),
      TRIGGER_OPS_WORKFLOW_BUNDLE: bundle.path,
    };
    worker = spawnCli(['worker'], env);
    await waitFor('the worker to poll', () => (/worker polling/.test(worker.output()) ? true : undefined), 60_000, 100);
  });

  after(async () => {
    worker?.child.kill('SIGTERM');
    const stopped = spawnCli(['sandbox', 'down'], { TRIGGER_OPS_DATA_DIR: join(dir, 'sandbox') });
    await stopped.exited;
    await Promise.all([worker?.exited, sandbox?.exited]);
    await temporal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploy --plan prints what would be created, with the price, and creates nothing', async () => {
    const out = await cli(['deploy', '-i', 'e2e', '--plan']);
    assert.match(out, /create .*droplet tops-e2e-g1: s-2vcpu-4gb in nyc3/s);
    assert.match(out, /\$24\.00\/month/);
    assert.deepEqual(await dropletsOf('e2e'), []);
  });

  it('deploy shows its steps and a summary', async () => {
    const out = await cli(['deploy', '-i', 'e2e']);
    for (const step of ['railway-preflight', 'worker-token', 'droplet', 'cloud-init', 'health-gate']) assert.match(out, new RegExp(`✓ ${step}`));
    assert.match(out, /Deployed "e2e": supervisor v4\.5\.11 is connected and healthy/);
    assert.equal((await dropletsOf('e2e')).length, 1);
  });

  it('status shows the installation as JSON and as a table', async () => {
    const json = JSON.parse(await cli(['status', '-i', 'e2e', '--json'])) as {
      desired: { supervisorVersion: string; droplet: { name: string } };
      email: { configured: boolean; transport: string };
    };
    assert.equal(json.desired.supervisorVersion, 'v4.5.11');
    assert.equal(json.desired.droplet.name, 'tops-e2e-g1');
    assert.deepEqual([json.email.configured, json.email.transport], [false, 'console']);
    const table = await cli(['status', '-i', 'e2e']);
    assert.match(table, /supervisor\s+│\s+v4\.5\.11/);
    assert.match(table, /price\s+│\s+\$24\.00\/month/);
    assert.match(table, /^Email: not configured: the webapp prints magic links to its log/m);
  });

  it('upgrade rejects a floating tag with a clear sentence, then upgrades to v4.5.12', async () => {
    const refused = await cli(['upgrade', 'latest', '-i', 'e2e'], 2);
    assert.match(refused, /pinned release tag/);
    const out = await cli(['upgrade', 'v4.5.12', '-i', 'e2e']);
    assert.match(out, /… upgrade: /, 'the steps are shown while it runs');
    assert.match(out, /upgraded: upgraded v4\.5\.11 → v4\.5\.12/);
    const json = JSON.parse(await cli(['status', '-i', 'e2e', '--json'])) as { desired: { supervisorVersion: string } };
    assert.equal(json.desired.supervisorVersion, 'v4.5.12');
  });

  it('migrate moves the supervisor to a bigger droplet and leaves exactly one', async () => {
    await cli(['migrate', '-i', 'e2e', '--size', 's-4vcpu-8gb']);
    const droplets = await dropletsOf('e2e');
    assert.equal(droplets.length, 1);
    assert.equal(droplets[0]?.size_slug, 's-4vcpu-8gb');
  });

  it('logs shows the supervisor log over SSH and the webapp log from Railway, without secrets', async () => {
    const out = await cli(['logs', '-i', 'e2e', '--tail', '50']);
    assert.match(out, /── supervisor on tops-e2e-g2 ──/);
    assert.match(out, /Connected to platform/);
    assert.match(out, /── webapp \(Trigger\.dev, deployment /);
    for (const secret of [sandboxEnv['DIGITALOCEAN_TOKEN'], sandboxEnv['TRIGGER_ADMIN_TOKEN']]) assert.ok(secret && !out.includes(secret));
    assert.doesNotMatch(out, /tr_wgt_[0-9A-Za-z]{40}/);
    const bad = await cli(['logs', '-i', 'e2e', '--source', 'everything'], 2);
    assert.match(bad, /logs\.source: .*accepted: "supervisor", "webapp", "all"/);
  });

  it('teardown refuses without confirmation when not in a terminal, then removes everything with --yes', async () => {
    const refused = await cli(['teardown', '-i', 'e2e'], 2);
    assert.match(refused, /pass --yes/);
    assert.equal((await dropletsOf('e2e')).length, 1);
    const out = await cli(['teardown', '-i', 'e2e', '--yes']);
    assert.match(out, /Torn down "e2e": 1 droplet/);
    assert.deepEqual(await dropletsOf('e2e'), []);
  });

  it('says clearly when the Temporal server cannot be reached', async () => {
    const run = spawnCli(['status', '-i', 'e2e'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(await run.exited, 3);
    assert.match(run.output(), /Cannot reach the Temporal server at 127\.0\.0\.1:1/);
  });
});
