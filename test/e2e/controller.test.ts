// `trigger-ops controller` as Railway runs it, against `trigger-ops sandbox up` in another process: the controller
// gets only what the sandbox prints (its tokens and Railway's variables), starts its own embedded Temporal server and
// reconciles. SIGKILLed at five moments of the first deploy and restarted each time, it ends with one healthy
// droplet; a changed desired version upgrades it on restart; an empty data dir (Temporal's state and the secret store
// gone) recovers the secrets from Railway and adopts the same droplet; bad input is reported and creates nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { bundleWorkflows } from '../../scripts/bundle-workflows';
import { loadConfig } from '../../src/config';
import { loadCodec } from '../../src/controller';
import { workflowIds } from '../../src/shared/ids';
import { connectClient } from '../../src/temporal/connection';
import { deployProgressQuery } from '../../src/workflows';
import { freePort } from '../../src/controller/ports';
import type { StatusReport } from '../../src/controller/probes';
import { fetchTrustingConfig } from '../helpers/https';
import { spawnCli, type Spawned } from '../helpers/processes';
import { assertNoSecrets } from '../helpers/secrets';
import { waitFor } from '../helpers/wait';

const ADMIN = 'controller-test-admin-token-0123456789';
const ID = 'ctl';

describe('trigger-ops controller on the sandbox', () => {
  let dir: string;
  let sandbox: Spawned;
  let sandboxEnv: Record<string, string>;
  let bundlePath: string;
  const spawned: Spawned[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-controller-'));
    bundlePath = (await bundleWorkflows(join(dir, 'workflow-bundle.js'))).path;
    sandbox = spawnCli(['sandbox', 'up', '--json'], { TRIGGER_OPS_DATA_DIR: join(dir, 'sandbox') });
    const line = await waitFor('sandbox endpoints', () => sandbox.output().split('\n').find((l) => l.startsWith('{')), 60_000, 100);
    sandboxEnv = (JSON.parse(line) as { env: Record<string, string> }).env;
  });

  after(async () => {
    for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(spawned.map((p) => p.exited));
    await spawnCli(['sandbox', 'down'], { TRIGGER_OPS_DATA_DIR: join(dir, 'sandbox') }).exited;
    await sandbox?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  interface Boot {
    readonly process: Spawned;
    readonly url: string;
    readonly env: Record<string, string>;
  }

  /** One boot of the controller with the sandbox's variables, as the Railway service gets them. */
  const boot = async (dataDir: string, extra: Record<string, string> = {}): Promise<Boot> => {
    const port = await freePort();
    const env = {
      ...sandboxEnv,
      TRIGGER_OPS_DATA_DIR: dataDir,
      TRIGGER_OPS_INSTALLATION: ID,
      TRIGGER_OPS_ADMIN_TOKEN: ADMIN,
      TRIGGER_OPS_CODEC_KEY: Buffer.alloc(32, 9).toString('base64'),
      TRIGGER_OPS_WORKFLOW_BUNDLE: bundlePath,
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_DEV_UI_PORT: String(await freePort()),
      PORT: String(port),
      ...extra,
    };
    const p = spawnCli(['controller'], env);
    spawned.push(p);
    return { process: p, url: `http://127.0.0.1:${port}`, env };
  };

  const report = async (b: Boot): Promise<StatusReport | undefined> => {
    const res = await fetch(`${b.url}/status`, { headers: { authorization: `Bearer ${ADMIN}` } }).catch(() => undefined);
    // 503 while there is no installation status to show (nothing deployed yet): still the report, with the reason.
    return res?.status === 200 || res?.status === 503 ? ((await res.json()) as StatusReport) : undefined;
  };
  const untilInSync = (b: Boot, timeoutMs = 180_000) =>
    waitFor('the reconciler to be in sync', async () => {
      if (b.process.child.exitCode !== null) throw new Error(`the controller exited:\n${b.process.output()}`);
      const r = await report(b);
      return r?.reconciler?.phase === 'in-sync' ? r : undefined;
    }, timeoutMs, 250);
  const healthz = async (b: Boot) => (await fetch(`${b.url}/healthz`).catch(() => undefined))?.status;
  const stop = async (b: Boot) => {
    b.process.child.kill('SIGTERM');
    assert.equal(await b.process.exited, 0, b.process.output());
  };
  /** The tokens the controller was given and what its secret store holds (private keys by a line of their body). */
  const secrets = (b: Boot): string[] => {
    const values = ['DIGITALOCEAN_TOKEN', 'RAILWAY_API_TOKEN', 'TRIGGER_ADMIN_TOKEN', 'TRIGGER_OPS_SECRET_KEY', 'TRIGGER_OPS_CODEC_KEY', 'TRIGGER_OPS_ADMIN_TOKEN']
      .map((n) => b.env[n] ?? '');
    const store = join(b.env['TRIGGER_OPS_DATA_DIR']!, 'secrets.json');
    if (existsSync(store)) {
      for (const raw of Object.values(JSON.parse(readFileSync(store, 'utf8')) as Record<string, string>)) {
        values.push(raw.startsWith('{') ? ((JSON.parse(raw) as { privateKey?: string }).privateKey ?? '').split('\n')[2] ?? '' : raw);
      }
    }
    return values.filter((v) => v.length >= 8);
  };
  const droplets = async (installationId: string) => {
    const res = await fetchTrustingConfig(sandboxEnv)(`${sandboxEnv['DIGITALOCEAN_API_URL']}/v2/droplets?tag_name=trigger-ops-${installationId}`, {
      headers: { authorization: `Bearer ${sandboxEnv['DIGITALOCEAN_TOKEN']}` },
    });
    return ((await res.json()) as { droplets: { id: number; name: string; status: string }[] }).droplets;
  };
  const healthy = (b: Boot) =>
    waitFor('every condition True', async () => {
      const heal = spawnCli(['heal', '-i', ID], b.env);
      await heal.exited;
      const r = await report(b);
      const c = r?.status?.conditions ?? [];
      return c.length > 0 && c.every((x) => x.status === 'True') ? r : undefined;
    }, 60_000, 1000);

  const clients = new Map<Boot, Promise<Client | undefined>>();
  let dataDir: string;
  let current: Boot | undefined;
  let dropletId: number;

  it('deploys with nothing but the sandbox\'s variables, killed at five moments of its first deploy: one healthy droplet', async (t) => {
    const t0 = Date.now();
    const mark = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    dataDir = join(dir, 'controller');
    const moments: string[] = [];
    while (moments.length < 5) {
      const b = await boot(dataDir);
      const config = loadConfig(b.env);
      const moment = await waitFor('the controller to reach a moment of the first deploy not killed at yet', async () => {
        if (b.process.child.exitCode !== null) throw new Error(`the controller exited:\n${b.process.output()}`);
        if (/reconcile: "ctl" matches the desired state/.test(b.process.output())) throw new Error(`the deploy finished after ${moments.length} kills: ${moments.join(', ')}`);
        if (!moments.includes('plan') && /reconcile: checking tokens/.test(b.process.output())) return 'plan';
        // The deploy's own progress, as often as the controller's worker answers: finer than the controller's log.
        const client = await (clients.get(b) ?? clients.set(b, connectClient(config.temporal, `127.0.0.1:${config.temporal.devPort}`, loadCodec(config)).catch(() => undefined)).get(b));
        if (!client) {
          clients.delete(b);
          return undefined;
        }
        const progress = await client.workflow.getHandle(workflowIds.deploy(ID)).query(deployProgressQuery).catch(() => undefined);
        return progress && progress.step !== 'done' && !moments.includes(progress.step) ? progress.step : undefined;
      }, 120_000, 10);
      b.process.child.kill('SIGKILL');
      await b.process.exited;
      await (await clients.get(b))?.connection.close();
      moments.push(moment);
      mark(`SIGKILL at ${moment}`);
    }
    assert.equal(new Set(moments).size, 5, moments.join(', '));

    current = await boot(dataDir);
    await waitFor('/healthz 200', async () => ((await healthz(current!)) === 200 ? true : undefined), 60_000, 200);
    mark('healthz 200');
    const synced = await untilInSync(current);
    mark('in sync');
    const list = await droplets(ID);
    assert.equal(list.length, 1, `exactly one droplet after kills at ${moments.join(', ')}: ${JSON.stringify(list)}`);
    dropletId = list[0]!.id;
    assert.equal(synced.status?.desired?.droplet.id, dropletId);
    await healthy(current);
    mark('every condition True');
    assertNoSecrets(current.process.output(), secrets(current), 'the controller log');
  });

  it('a changed desired supervisor version upgrades the same droplet on restart', async () => {
    assert.ok(current, 'needs the deployed controller');
    const before = (await report(current))?.status?.desired?.supervisorVersion;
    assert.equal(before, 'v4.5.11', 'the webapp\'s version on the first deploy');
    await stop(current);
    current = await boot(dataDir, { TRIGGER_OPS_SUPERVISOR_VERSION: 'v4.5.12' });
    const synced = await untilInSync(current);
    assert.equal(synced.status?.desired?.supervisorVersion, 'v4.5.12');
    assert.ok(synced.status?.recent.some((r) => r.kind === 'upgrade' && r.outcome === 'succeeded'));
    assert.deepEqual((await droplets(ID)).map((d) => d.id), [dropletId]);
    await healthy(current);
  });

  it('an empty data dir recovers the secrets from Railway and adopts the same droplet, with no redeploy', async () => {
    assert.ok(current, 'needs the deployed controller');
    await stop(current);
    rmSync(dataDir, { recursive: true, force: true });
    current = await boot(dataDir, { TRIGGER_OPS_SUPERVISOR_VERSION: 'v4.5.12' });
    const synced = await untilInSync(current);
    assert.match(current.process.output(), /secrets: recovered 4 from the encrypted copy on Railway/);
    assert.deepEqual((await droplets(ID)).map((d) => d.id), [dropletId], 'the same droplet, no second one');
    assert.equal(synced.status?.desired?.droplet.id, dropletId);
    assert.equal(synced.status?.desired?.supervisorVersion, 'v4.5.12');
    await healthy(current);
    await stop(current);
    current = undefined;
  });

  it('bad input is reported on /status and in the log, the controller stays up, and nothing is created', async () => {
    const cases = [
      { id: 'badregion', extra: { TRIGGER_OPS_REGION: 'mars1' }, expect: /TRIGGER_OPS_REGION: must be a DigitalOcean region slug/ },
      { id: 'badsize', extra: { TRIGGER_OPS_SIZE: 's-99vcpu-1tb' }, expect: /deploy plan failed: .*s-99vcpu-1tb/ },
      { id: 'badtoken', extra: { DIGITALOCEAN_TOKEN: 'dop_v1_' + '0'.repeat(64) }, expect: /deploy plan failed: .*(401|[Uu]nauthori[sz]ed|refused)/ },
    ];
    for (const c of cases) {
      const b = await boot(join(dir, c.id), { TRIGGER_OPS_INSTALLATION: c.id, ...c.extra });
      const r = await waitFor(`${c.id}: the reason on /status`, async () => {
        const x = await report(b);
        return x?.reconciler?.phase === 'blocked' ? x : undefined;
      }, 90_000, 250).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${b.process.output()}`);
      });
      assert.match(r.configurationError ?? '', c.expect);
      assert.match(b.process.output(), c.expect, 'the reason is in the log too');
      await waitFor('/healthz 200: the controller itself is healthy', async () => ((await healthz(b)) === 200 ? true : undefined), 30_000, 200);
      assert.equal(b.process.child.exitCode, null, 'and stays up');
      assert.deepEqual(await droplets(c.id), []);
      assertNoSecrets(b.process.output(), secrets(b), `${c.id} log`);
      await stop(b);
    }
  });
});
