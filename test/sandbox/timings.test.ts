import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDigitalOceanApi, type DigitalOceanApi } from '../../src/activities/digitalocean';
import { connectDroplet, type DropletConnection } from '../../src/activities/ssh/client';
import { createWebappClient } from '../../src/activities/trigger';
import { readAgentScript } from '../../src/remote/agent-script';
import { buildCloudConfig } from '../../src/remote/cloud-config';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import { startSandbox, type Sandbox } from '../../sandbox';
import { waitFor } from '../helpers/wait';

const SUPERVISOR = 'ghcr.io/triggerdotdev/supervisor';

/**
 * The timing table reaches every stand-in: a duration forced on a running (fast) sandbox shows in what a client
 * sees, through the real clients, and only for as long as it is forced.
 */
describe('sandbox timings, forced at run time', () => {
  let sandbox: Sandbox;
  let api: DigitalOceanApi;
  let connection: DropletConnection;
  let dropletId: number;
  const controller = generateEd25519KeyPair('controller');
  const hostKey = generateEd25519KeyPair('droplet-host');

  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const start = Date.now();
    const value = await fn();
    return { value, ms: Date.now() - start };
  };

  const createDroplet = async (name: string) => {
    const key = (await api.findSshKeyByName('t')) ?? (await api.createSshKey({ name: 't', publicKey: controller.publicKey }));
    const userData = buildCloudConfig({ installationId: 'tim', controllerPublicKey: controller.publicKey, hostKey, agentScript: readAgentScript(), docker: 'preinstalled' });
    const { droplet } = await api.createDroplet({ name, region: 'nyc3', size: 's-2vcpu-4gb', image: 'docker-20-04', sshKeys: [key.id], userData, tags: ['trigger-ops'] });
    const ip = await waitFor('the droplet to be active', async () => {
      const d = await api.getDroplet(droplet.id);
      return d.status === 'active' ? d.publicIpv4 : undefined;
    }, 20_000, 100);
    return { id: droplet.id, ip };
  };

  before(async () => {
    sandbox = await startSandbox({ fast: true });
    api = createDigitalOceanApi({ token: sandbox.env['DIGITALOCEAN_TOKEN']!, apiUrl: sandbox.env['DIGITALOCEAN_API_URL']!, ca: sandbox.digitalocean.ca });
  });

  after(async () => {
    connection?.dispose();
    await sandbox?.close();
  });

  it('fast stays fast: the fast profile and its poll interval; a droplet comes up active', async () => {
    assert.equal(sandbox.timings.profile, 'fast');
    assert.equal(sandbox.env['TRIGGER_OPS_POLL_INTERVAL_MS'], '250');
    const { value } = await timed(() => createDroplet('tim-fast'));
    dropletId = value.id;
    connection = await connectDroplet({ host: value.ip, port: Number(sandbox.env['DROPLET_SSH_PORT']), username: 'root', privateKey: controller.privateKey, pinnedHostKey: hostKey.publicKey, timeoutMs: 5000 });
  });

  it('a forced droplet create takes that long, once', async () => {
    sandbox.timings.force('dropletCreate', 2_000, { times: 1 });
    const slow = await timed(() => createDroplet('tim-slow'));
    assert.ok(slow.ms >= 2_000, `forced create took ${slow.ms} ms`);
    const next = await timed(() => createDroplet('tim-next'));
    // Relative, not absolute: on a loaded machine every create is slower, but only the forced one by 2 s more.
    assert.ok(next.ms < slow.ms - 1_000, `the next create took ${next.ms} ms, the forced one ${slow.ms} ms`);
  });

  it('a forced pull takes that long for a missing image; a present image is pulled at once', async () => {
    sandbox.timings.force('imagePull', 2_000, { times: 1 });
    const first = await timed(() => connection.run(`docker pull ${SUPERVISOR}:v4.5.11`));
    assert.equal(first.value.code, 0, first.value.stderr);
    assert.match(first.value.stdout, /Downloaded newer image/);
    assert.ok(first.ms >= 2_000, `forced pull took ${first.ms} ms`);
    const again = await timed(() => connection.run(`docker pull ${SUPERVISOR}:v4.5.11`));
    assert.match(again.value.stdout, /Image is up to date/);
    assert.ok(again.ms < first.ms - 1_000, `pulling a present image took ${again.ms} ms, the forced pull ${first.ms} ms`);
  });

  it('a forced connect delay holds "Connected to platform" back that long after the container started', async () => {
    const created = await createWebappClient({ baseUrl: sandbox.webapp.url, adminToken: sandbox.webapp.adminToken }).createWorkerGroup({ name: 'timings' });
    assert.equal(created.outcome, 'created');
    const compose = JSON.stringify({
      services: {
        supervisor: {
          image: `${SUPERVISOR}:v4.5.12`,
          restart: 'unless-stopped',
          environment: {
            TRIGGER_API_URL: sandbox.webapp.url,
            TRIGGER_WORKER_TOKEN: created.outcome === 'created' ? created.token : '',
            MANAGED_WORKER_SECRET: sandbox.railway.inspect().variables['Trigger.dev']?.['MANAGED_WORKER_SECRET'] ?? '',
            TRIGGER_WORKER_INSTANCE_NAME: 'tim-connect',
            OTEL_EXPORTER_OTLP_ENDPOINT: `${sandbox.webapp.url}/otel`,
          },
        },
      },
    });
    assert.equal((await connection.run('mkdir -p tim && cat > tim/compose.yaml', { stdin: compose })).code, 0);
    sandbox.timings.force('supervisorConnect', 2_500);
    const up = await connection.run('docker compose --project-directory tim up -d');
    assert.equal(up.code, 0, up.stderr);
    const instance = await waitFor('the supervisor to connect', () => sandbox.webapp.workerInstances().find((i) => i.name === 'tim-connect'), 20_000, 100);
    sandbox.timings.release('supervisorConnect');
    const startedAt = sandbox.droplets.inspect(dropletId).containers.find((c) => c.image.includes('/supervisor:'));
    assert.ok(startedAt, 'a supervisor container');
    const inspect = JSON.parse((await connection.run(`docker inspect ${startedAt.name}`)).stdout) as { State: { StartedAt: string } }[];
    const gap = instance.connectedAt.getTime() - Date.parse(inspect[0]?.State.StartedAt ?? '');
    // Lower bound exact; the upper one only says "that delay, not forever" (a loaded machine adds seconds).
    assert.ok(gap >= 2_500 && gap < 12_500, `connected ${gap} ms after the container started`);
  });

  it('a forced droplet action takes that long', async () => {
    sandbox.timings.force('dropletAction', 1_500, { times: 1 });
    const action = await timed(async () => {
      const a = await api.dropletAction(dropletId, { type: 'power_cycle' });
      return waitFor('the power cycle', async () => ((await api.getAction(a.id)).status === 'completed' ? true : undefined), 10_000, 100);
    });
    assert.ok(action.ms >= 1_500 && action.ms < 11_500, `forced power cycle took ${action.ms} ms`);
  });

  it('realistic timings hand out a real-world poll interval', async () => {
    const realistic = await startSandbox({ timings: 'realistic', fast: true });
    try {
      assert.equal(realistic.timings.profile, 'realistic');
      assert.ok(Number(realistic.env['TRIGGER_OPS_POLL_INTERVAL_MS']) >= 2_000);
    } finally {
      await realistic.close();
    }
  });
});
