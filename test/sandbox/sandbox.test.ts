import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { canConnect } from '../../src/controller/ports';
import { createDigitalOceanApi, type DigitalOceanApi } from '../../src/activities/digitalocean';
import { connectDroplet } from '../../src/activities/ssh/client';
import { HostKeyMismatchError } from '../../src/activities/ssh/errors';
import { createWebappClient } from '../../src/activities/trigger';
import { agentApplyCommand, agentStatusCommand, parseAgentOutput } from '../../src/remote/agent-commands';
import { readAgentScript } from '../../src/remote/agent-script';
import { buildCloudConfig } from '../../src/remote/cloud-config';
import { buildSupervisorCompose, buildSupervisorEnv } from '../../src/remote/compose';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import { startSandbox, type Sandbox } from '../../sandbox';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);

/**
 * The whole local world through the real clients: dots-wrapper creates a droplet on the DigitalOcean stand-in,
 * node-ssh reaches it with the pinned host key, the real agent starts a simulated supervisor, and the webapp
 * stand-in sees it heartbeat.
 */
describe('the sandbox, end to end through the real clients', () => {
  let sandbox: Sandbox;
  let api: DigitalOceanApi;
  const controller = generateEd25519KeyPair('controller');
  const hostKey = generateEd25519KeyPair('droplet-host');
  let workerToken: string;

  async function createDroplet(name: string): Promise<{ id: number; ip: string }> {
    const key = (await api.findSshKeyByName('test-controller')) ?? (await api.createSshKey({ name: 'test-controller', publicKey: controller.publicKey }));
    const userData = buildCloudConfig({
      installationId: 'sbx',
      controllerPublicKey: controller.publicKey,
      hostKey,
      agentScript: readAgentScript(),
      docker: 'preinstalled',
    });
    const { droplet } = await api.createDroplet({ name, region: 'nyc3', size: 's-2vcpu-4gb', image: 'docker-20-04', sshKeys: [key.id], userData, tags: ['trigger-ops'] });
    const ip = await waitFor('the droplet to be active', async () => {
      const d = await api.getDroplet(droplet.id);
      return d.status === 'active' ? d.publicIpv4 : undefined;
    }, 20_000, 100);
    return { id: droplet.id, ip };
  }

  async function applySupervisor(ip: string, managedWorkerSecret: string, instance: string) {
    const connection = await connectDroplet({ host: ip, port: Number(sandbox.env['DROPLET_SSH_PORT']), username: 'root', privateKey: controller.privateKey, pinnedHostKey: hostKey.publicKey, timeoutMs: 5000 });
    try {
      await waitFor('cloud-init', async () => ((await connection.run('cloud-init status --format json')).stdout.includes('"done"') ? true : undefined), 20_000, 100);
      const env = buildSupervisorEnv({
        imageTag: 'v4.5.12',
        apiUrl: sandbox.webapp.url,
        workerToken,
        managedWorkerSecret,
        workerInstanceName: instance,
        workloadTokenSecret: 'a1'.repeat(32),
        dockerApiVersion: '1.47',
        capacity: { vcpus: 2, memoryMb: 4096 },
      });
      const cmd = agentApplyCommand({ env, compose: buildSupervisorCompose() });
      const applied = parseAgentOutput('apply', (await connection.run(cmd.command, { stdin: cmd.stdin ?? '' })).stdout);
      assert.equal(applied.ok, true, JSON.stringify(applied));
      return connection;
    } catch (err) {
      connection.dispose();
      throw err;
    }
  }

  before(async () => {
    sandbox = await startSandbox({ fast: true });
    api = createDigitalOceanApi({ token: sandbox.env['DIGITALOCEAN_TOKEN']!, apiUrl: sandbox.env['DIGITALOCEAN_API_URL']!, ca: sandbox.digitalocean.ca });
    const created = await createWebappClient({ baseUrl: sandbox.webapp.url, adminToken: sandbox.webapp.adminToken }).createWorkerGroup({ name: 'sandbox-test' });
    assert.equal(created.outcome, 'created');
    workerToken = created.outcome === 'created' ? created.token : '';
  });

  after(async () => {
    await sandbox?.close();
  });

  it('dots-wrapper → droplet → node-ssh with the pinned key → agent → supervisor heartbeat at the webapp', async () => {
    const { ip } = await createDroplet('sbx-good');
    const secret = sandbox.railway.inspect().variables['Trigger.dev']?.['MANAGED_WORKER_SECRET'] ?? '';
    const connection = await applySupervisor(ip, secret, 'sbx-good');
    try {
      const echo = await connection.run('echo "hello from $(hostname)"');
      assert.equal(echo.stdout, 'hello from sbx-good\n');
      const instance = await waitFor('a heartbeat at the webapp', () =>
        sandbox.webapp.workerInstances().find((i) => i.name === 'sbx-good' && i.lastHeartbeatAt !== i.connectedAt),
      );
      assert.equal(instance.workerVersion, '4.5.12');
      assert.equal(instance.group, 'sandbox-test');
      const status = parseAgentOutput('status', (await connection.run(agentStatusCommand().command)).stdout);
      assert.equal(status.ok, true);
    } finally {
      connection.dispose();
    }
  });

  it('with a wrong managed secret the supervisor crash-loops, visible in docker ps and a rising RestartCount', async () => {
    const { ip } = await createDroplet('sbx-wrong-secret');
    const connection = await applySupervisor(ip, 'f'.repeat(32), 'sbx-wrong-secret');
    try {
      const restarts = async () => {
        const out = await connection.run('docker inspect trigger-supervisor-1');
        return (JSON.parse(out.stdout) as { RestartCount: number }[])[0]?.RestartCount ?? 0;
      };
      await waitFor('restarts', async () => ((await restarts()) >= 2 ? true : undefined), 20_000, 200);
      const first = await restarts();
      await waitFor('more restarts', async () => ((await restarts()) > first ? true : undefined), 20_000, 200);
      const ps = await connection.run('docker ps -a --format json');
      const supervisor = ps.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Names: string; State: string; Status: string }).find((c) => c.Names === 'trigger-supervisor-1');
      assert.ok(supervisor && /restarting|exited|running/.test(supervisor.State), JSON.stringify(supervisor));
      assert.ok(!sandbox.webapp.workerInstances().some((i) => i.name === 'sbx-wrong-secret'));
    } finally {
      connection.dispose();
    }
  });

  it('a droplet presenting another host key is refused by node-ssh and by OpenSSH', async () => {
    const { id, ip } = await createDroplet('sbx-mitm');
    const port = sandbox.env['DROPLET_SSH_PORT']!;
    const dir = mkdtempSync(join(tmpdir(), 'sbx-ssh-'));
    try {
      const keyFile = join(dir, 'id');
      writeFileSync(keyFile, controller.privateKey, { mode: 0o600 });
      writeFileSync(join(dir, 'known_hosts'), `[${ip}]:${port} ${hostKey.publicKey}\n`);
      const ssh = ['-i', keyFile, '-p', port, '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${ip}`];
      const ok = await run('ssh', [...ssh, 'echo openssh-ok']);
      assert.match(ok.stdout, /openssh-ok/);

      sandbox.droplets.faults.differentHostKey(id);
      await assert.rejects(
        connectDroplet({ host: ip, port: Number(port), username: 'root', privateKey: controller.privateKey, pinnedHostKey: hostKey.publicKey, timeoutMs: 5000 }),
        (err: unknown) => err instanceof HostKeyMismatchError,
      );
      await assert.rejects(run('ssh', [...ssh, 'echo should-not-run']), /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stopping it leaves no process, port or directory behind', async () => {
    const { ip } = await createDroplet('sbx-last');
    const roots = (await api.listDropletsByTag('trigger-ops')).map((d) => sandbox.droplets.inspect(d.id).root);
    const dir = join(roots[0]!, '..', '..');
    assert.ok(processesMentioning(dir).length > 0, 'the sandbox runs supervisor processes before it is stopped');
    const ports = [new URL(sandbox.env['DIGITALOCEAN_API_URL']!).port, new URL(sandbox.env['RAILWAY_API_URL']!).port, new URL(sandbox.webapp.url).port];
    await sandbox.close();
    for (const root of roots) assert.equal(existsSync(root), false);
    for (const port of ports) assert.equal(await canConnect('127.0.0.1', Number(port)), false, `port ${port} still open`);
    assert.equal(await canConnect(ip, Number(sandbox.env['DROPLET_SSH_PORT'])), false);
    assert.deepEqual(processesMentioning(dir), [], 'a process of the sandbox is still running');
  });
});

/** Pids whose command line or environment names the path (a droplet's init names its disk; a container its root). */
function processesMentioning(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = `${readFileSync(`/proc/${entry}/cmdline`, 'latin1')}\n${readFileSync(`/proc/${entry}/environ`, 'latin1')}`;
      if (text.includes(path)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
