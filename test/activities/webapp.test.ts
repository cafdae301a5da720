import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRailwayApi, createRailwayGraphqlClient, type RailwayApi as RailwayAdapter } from '../../src/activities/railway';
import { createWebappClient, parseBootstrapBanner, PROBE_INSTANCE_NAME, WebappApiError, type WebappClient } from '../../src/activities/trigger';
import { ErrorType } from '../../src/shared/errors';
import { startTriggerPlatform, type TriggerPlatform } from '../../sandbox/trigger-platform';
import { waitFor } from '../helpers/wait';

const FAST = { queuedMs: 20, buildingMs: 20, deployingMs: 20 };


function workerHeaders(token: string, secret: string, instance = 'droplet-1'): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'x-trigger-worker-managed-secret': secret,
    'x-trigger-worker-instance-name': instance,
    'content-type': 'application/json',
  };
}

describe('webapp stand-in, first deploy and bootstrap', () => {
  let platform: TriggerPlatform;
  let railway: RailwayAdapter;
  let webapp: WebappClient;
  let workerToken: string;
  let secret: string;

  before(async () => {
    platform = await startTriggerPlatform({
      // A queue long enough to see the webapp before its first deploy lands, even on a busy machine.
      railway: { deployTimings: { ...FAST, queuedMs: 250 }, seed: { webappDeployed: false } },
      webapp: { dequeueWaitMs: 30 },
    });
    railway = createRailwayApi(
      createRailwayGraphqlClient({ url: platform.railway.url, auth: { kind: 'project', token: platform.railway.projectToken } }),
    );
    webapp = createWebappClient({ baseUrl: platform.webapp.url, adminToken: platform.webapp.adminToken });
  });
  after(() => platform.close());

  const target = () => ({
    projectId: platform.railway.projectId,
    environmentId: platform.railway.environmentId,
    serviceId: platform.railway.serviceIds.webapp,
  });

  it('healthcheck is 503 during the first deploy and 200 OK once it is SUCCESS', async () => {
    assert.deepEqual(await webapp.healthcheck(), { healthy: false, status: 503 });
    await waitFor('webapp SUCCESS', async () => ((await railway.latestDeployment(target()))?.status === 'SUCCESS' ? true : undefined));
    assert.deepEqual(await webapp.healthcheck(), { healthy: true, status: 200 });
    const res = await fetch(`${platform.webapp.url}/healthcheck`);
    assert.equal(await res.text(), 'OK');
  });

  it('Railway knows the webapp at the address where it really listens', async () => {
    const vars = await railway.getVariables(target());
    assert.equal(vars['APP_ORIGIN'], platform.webapp.url);
    assert.equal(vars['API_ORIGIN'], platform.webapp.url);
    assert.equal((await railway.getVariables(target(), { unrendered: true }))['APP_ORIGIN'], 'http://${{RAILWAY_PUBLIC_DOMAIN}}');
  });

  it('prints the bootstrap banner into the deployment logs, and the adapter parses it', async () => {
    const deployment = await railway.latestDeployment({ ...target(), status: { in: ['SUCCESS'] } });
    assert.ok(deployment);
    const logs = await railway.deploymentLogs(deployment.id);
    assert.ok(logs.some((l) => l.message === 'Trigger.dev Bootstrap - Worker Token'));
    const banner = parseBootstrapBanner(logs.map((l) => l.message));
    assert.ok(banner);
    assert.equal(banner.workerGroup, 'bootstrap');
    assert.match(banner.token, /^tr_wgt_[0-9A-Za-z]{40}$/);
    workerToken = banner.token;
    secret = (await railway.getVariables(target()))['MANAGED_WORKER_SECRET'] ?? '';
    assert.deepEqual(platform.webapp.workerGroups().map((g) => g.name), ['bootstrap']);
  });

  it('never prints the banner again: the next deployment only says the group exists', async () => {
    const id = await railway.deployService(platform.railway.environmentId, platform.railway.serviceIds.webapp);
    await waitFor('redeploy SUCCESS', async () => ((await railway.getDeployment(id)).status === 'SUCCESS' ? true : undefined));
    const logs = (await railway.deploymentLogs(id)).map((l) => l.message);
    assert.ok(logs.includes('[bootstrap] Worker group bootstrap already exists'));
    assert.equal(parseBootstrapBanner(logs), undefined);
    assert.equal(platform.webapp.workerGroups().length, 1);
  });

  it('connect and heartbeat accept the right token and managed secret, and record the instance', async () => {
    const connect = await fetch(`${platform.webapp.url}/engine/v1/worker-actions/connect`, {
      method: 'POST',
      headers: workerHeaders(workerToken, secret),
      body: JSON.stringify({ metadata: { workerVersion: '4.5.12' } }),
    });
    assert.equal(connect.status, 200);
    assert.deepEqual(await connect.json(), { ok: true, workerGroup: { type: 'MANAGED', name: 'bootstrap' } });
    const beat = await fetch(`${platform.webapp.url}/engine/v1/worker-actions/heartbeat`, {
      method: 'POST',
      headers: workerHeaders(workerToken, secret),
      body: JSON.stringify({ cpu: { used: 0, available: 4 }, memory: { used: 0, available: 8 }, tasks: [] }),
    });
    assert.deepEqual(await beat.json(), { ok: true });
    const instance = platform.webapp.workerInstances().find((i) => i.name === 'droplet-1');
    assert.equal(instance?.group, 'bootstrap');
    assert.equal(instance?.workerVersion, '4.5.12');
    assert.ok(instance?.lastHeartbeatAt instanceof Date);
  });

  it('dequeue answers an empty list after the long-poll', async () => {
    const started = Date.now();
    const res = await fetch(`${platform.webapp.url}/engine/v1/worker-actions/dequeue`, {
      method: 'POST',
      headers: workerHeaders(workerToken, secret),
      body: JSON.stringify({ maxRunCount: 1 }),
    });
    assert.deepEqual(await res.json(), []);
    assert.ok(Date.now() - started >= 25);
  });

  it('a wrong token, a wrong secret or no instance name get 401 "Invalid or missing worker token"', async () => {
    const attempts: Record<string, string>[] = [
      workerHeaders(`tr_wgt_${'x'.repeat(40)}`, secret),
      workerHeaders(workerToken, `${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`),
      workerHeaders(workerToken, 'short'),
      workerHeaders(workerToken, secret, ''),
      { ...workerHeaders(workerToken, secret), authorization: workerToken },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${platform.webapp.url}/engine/v1/worker-actions/heartbeat`, { method: 'POST', headers, body: '{}' });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: 'Invalid or missing worker token' });
    }
  });

  it('the credential probe heartbeats as trigger-ops-probe and tells accepted from refused', async () => {
    assert.deepEqual(await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: secret }), { accepted: true, status: 200 });
    assert.deepEqual(await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: 'nope' }), { accepted: false, status: 401 });
    const probe = platform.webapp.workerInstances().find((i) => i.name === PROBE_INSTANCE_NAME);
    assert.ok(probe?.lastHeartbeatAt);
    assert.equal(probe.dequeues, 0);
  });

  it('a rotated managed secret takes effect only when the new deployment is SUCCESS', async () => {
    const rotated = 'b'.repeat(64);
    await railway.upsertVariables(target(), { MANAGED_WORKER_SECRET: rotated });
    const pending = await railway.latestDeployment(target());
    assert.ok(pending && pending.status !== 'SUCCESS');
    assert.equal((await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: secret })).accepted, true);
    assert.equal((await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: rotated })).accepted, false);
    await waitFor('rotation SUCCESS', async () => ((await railway.getDeployment(pending.id)).status === 'SUCCESS' ? true : undefined));
    assert.equal((await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: secret })).accepted, false);
    assert.equal((await webapp.probeWorkerCredentials({ workerToken, managedWorkerSecret: rotated })).accepted, true);
    secret = rotated;
  });

  it('the admin API creates a worker group once, returns its token once, and refuses a duplicate', async () => {
    const created = await webapp.createWorkerGroup({ name: 'tops-demo', description: 'droplet workers' });
    assert.equal(created.outcome, 'created');
    assert.ok(created.outcome === 'created' && created.token.startsWith('tr_wgt_'));
    const again = await webapp.createWorkerGroup({ name: 'tops-demo' });
    assert.deepEqual(again.outcome, 'exists');
    assert.equal(again.workerGroup?.name, 'tops-demo');
    assert.ok(!('token' in again));
    assert.deepEqual((await webapp.listWorkerGroups()).map((g) => g.name).sort(), ['bootstrap', 'tops-demo']);
    if (created.outcome === 'created') {
      assert.equal((await webapp.probeWorkerCredentials({ workerToken: created.token, managedWorkerSecret: secret })).accepted, true);
    }
    const raw = await fetch(`${platform.webapp.url}/admin/api/v1/workers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.webapp.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'tops-demo' }),
    });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: string }).error, 'worker group already exists');
  });

  it('the admin API refuses a non-admin PAT (403) and a bad one (401)', async () => {
    const user = createWebappClient({ baseUrl: platform.webapp.url, adminToken: platform.webapp.userToken });
    const forbidden = await user.listWorkerGroups().catch((e: unknown) => e);
    assert.ok(forbidden instanceof WebappApiError);
    assert.equal(forbidden.type, ErrorType.AuthError);
    assert.equal(forbidden.status, 403);
    const stranger = createWebappClient({ baseUrl: platform.webapp.url, adminToken: 'tr_pat_nope' });
    const unauthorized = await stranger.createWorkerGroup({ name: 'x' }).catch((e: unknown) => e);
    assert.ok(unauthorized instanceof WebappApiError);
    assert.equal(unauthorized.status, 401);
    assert.ok(!unauthorized.message.includes('tr_pat_nope'));
  });

  it('injected faults: a 502 is Unavailable for the admin API and an unhealthy check', async () => {
    platform.webapp.faults.failNext('admin.workers', 1, { status: 502 });
    const err = await webapp.listWorkerGroups().catch((e: unknown) => e);
    assert.ok(err instanceof WebappApiError);
    assert.equal(err.type, ErrorType.Unavailable);
    platform.webapp.faults.failNext('healthcheck', 1, { status: 500, message: 'ERROR' });
    assert.deepEqual(await webapp.healthcheck(), { healthy: false, status: 500 });
    assert.deepEqual(await webapp.healthcheck(), { healthy: true, status: 200 });
  });
});

describe('webapp stand-in boot checks', () => {
  it('crashes on published insecure default secrets (v4.5.6+) unless ALLOW_INSECURE_DEFAULT_SECRETS=1', async () => {
    const platform = await startTriggerPlatform({
      railway: { deployTimings: FAST, seed: { secrets: 'insecure-defaults', allowInsecureDefaultSecrets: false } },
    });
    try {
      const { store, environmentId, serviceIds } = platform.railway;
      const seeded = store.latestDeployment(environmentId, serviceIds.webapp);
      assert.equal(seeded?.status, 'CRASHED');
      assert.ok(seeded?.logs.some((l) => /MANAGED_WORKER_SECRET must not be a known-insecure published default/.test(l.message)));
      const client = createWebappClient({ baseUrl: platform.webapp.url });
      assert.deepEqual(await client.healthcheck(), { healthy: false, status: 503 });
      const railway = createRailwayApi(
        createRailwayGraphqlClient({ url: platform.railway.url, auth: { kind: 'account', token: platform.railway.accountToken } }),
      );
      await railway.upsertVariables(
        { projectId: platform.railway.projectId, environmentId, serviceId: serviceIds.webapp },
        { ALLOW_INSECURE_DEFAULT_SECRETS: '1' },
      );
      await waitFor('healthy', async () => ((await client.healthcheck()).healthy ? true : undefined));
    } finally {
      await platform.close();
    }
  });

  it('with the template seeded without secrets the webapp does not boot', async () => {
    const platform = await startTriggerPlatform({ railway: { seed: { secrets: 'missing', bootstrap: false } } });
    try {
      const d = platform.railway.store.latestDeployment(platform.railway.environmentId, platform.railway.serviceIds.webapp);
      assert.equal(d?.status, 'CRASHED');
      assert.ok(d?.logs.some((l) => l.message.includes('SESSION_SECRET: Required')));
      assert.deepEqual(platform.webapp.workerGroups(), []);
    } finally {
      await platform.close();
    }
  });
});
