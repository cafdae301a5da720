// The agent on a sandbox droplet when the SSH connection drops in the middle of an upgrade: the run goes on, the
// retry (same operation id, new connection) adopts its answer, and the droplet ends with one supervisor on the tag.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectDroplet, type DropletConnection } from '../../src/activities/ssh';
import { agentApplyCommand, agentUpgradeCommand, parseAgentOutput, parseAgentProgressLine, type AgentCommand } from '../../src/remote/agent-commands';
import { readAgentScript } from '../../src/remote/agent-script';
import { createDropletHosts, type DropletHosts } from '../../sandbox/droplets';
import { freePort } from '../helpers/ports';
import { cloudConfig, dropletSpec, startFakePlatform, tempBase, testKeys, waitFor, type FakePlatform, type TestKeys } from './droplets-helpers';

const COMPOSE = `name: trigger
services:
  supervisor:
    image: ghcr.io/triggerdotdev/supervisor:\${TRIGGER_IMAGE_TAG:?pin a tag}
    restart: unless-stopped
    depends_on: [docker-proxy]
    environment:
      TRIGGER_API_URL: \${TRIGGER_API_URL:?}
      TRIGGER_WORKER_TOKEN: \${TRIGGER_WORKER_TOKEN:?}
      MANAGED_WORKER_SECRET: \${MANAGED_WORKER_SECRET:?}
      TRIGGER_WORKER_INSTANCE_NAME: \${TRIGGER_WORKER_INSTANCE_NAME:?}
      OTEL_EXPORTER_OTLP_ENDPOINT: \${TRIGGER_API_URL:?}/otel
  docker-proxy:
    image: ghcr.io/tecnativa/docker-socket-proxy:0.3.0
    restart: unless-stopped
`;

/** The agent's live processes inside the droplet (the supervisor's container is the daemon's, not the droplet's). */
const agentProcesses = (hosts: DropletHosts) => hosts.inspect(1).processes.filter((p) => p.command.includes('trigger-ops-agent')).map((p) => p.pid);

describe('agent on a sandbox droplet: dropped SSH connections', () => {
  let hosts: DropletHosts;
  let keys: TestKeys;
  let platform: FakePlatform;
  let sshPort: number;
  let ipv4: string;
  let pullMs = 0;
  const token = 'tr_wgt_0123456789abcdefghij0123456789abcdefghij';
  const secret = 'managed-secret-for-tests';
  const env = (tag: string) =>
    `TRIGGER_IMAGE_TAG=${tag}\nTRIGGER_API_URL=${platform.url}\nTRIGGER_WORKER_TOKEN=${token}\nMANAGED_WORKER_SECRET=${secret}\nTRIGGER_WORKER_INSTANCE_NAME=tops-agent-retry\n`;

  const connect = () =>
    connectDroplet({ host: ipv4, port: sshPort, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey: keys.host.publicKey, timeoutMs: 3000 });

  async function agent(conn: DropletConnection, cmd: AgentCommand, steps: string[] = []) {
    return conn.run(cmd.command, {
      ...(cmd.stdin === undefined ? {} : { stdin: cmd.stdin }),
      onStderrLine: (line) => {
        const step = parseAgentProgressLine(line);
        if (step) steps.push(step);
      },
    });
  }

  before(async () => {
    keys = testKeys();
    sshPort = await freePort();
    platform = await startFakePlatform(token, secret);
    hosts = createDropletHosts({
      baseDir: tempBase('agent-retry'),
      sshPort,
      imagePullMs: () => pullMs,
      supervisorHeartbeatMs: 200,
      restartBackoffMs: 50,
      healthIntervalMs: 100,
      stopTimeoutMs: 500,
    });
    ({ ipv4 } = await hosts.create(dropletSpec(1, cloudConfig(keys))));
    const conn = await connect();
    try {
      assert.equal((await conn.run('cloud-init status --wait')).code, 0);
      const installed = await conn.run('cat > /usr/local/bin/trigger-ops-agent && chmod 0755 /usr/local/bin/trigger-ops-agent', {
        stdin: readAgentScript(),
      });
      assert.equal(installed.code, 0, installed.stderr);
      const applied = await agent(conn, agentApplyCommand({ env: env('v4.5.11'), compose: COMPOSE, op: 'apply-1' }));
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    } finally {
      conn.dispose();
    }
  });

  after(async () => {
    await hosts.close();
    await platform.close();
  });

  it('a retry after the connection dropped mid-upgrade adopts the run, and one supervisor runs the new tag', async () => {
    pullMs = 4_000;
    const cmd = agentUpgradeCommand('v4.5.12', { waitSeconds: 30, op: 'upgrade-1' });
    const first = await connect();
    const firstSteps: string[] = [];
    const attempt = agent(first, cmd, firstSteps).then(
      (r) => r,
      (err: unknown) => err,
    );
    await waitFor('the pull to start', () => firstSteps.find((s) => s.startsWith('pulling ghcr.io/triggerdotdev/supervisor:v4.5.12')));
    assert.ok(hosts.faults.dropConnections(1) > 0);
    const lost = await attempt;
    assert.ok(lost instanceof Error || (lost as { code: number }).code !== 0, 'the first attempt lost its connection');
    first.dispose();

    const second = await connect();
    try {
      const steps: string[] = [];
      const r = await agent(second, cmd, steps);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = parseAgentOutput('upgrade', r.stdout);
      assert.ok(out.ok && 'downtimeSeconds' in out, r.stdout);
      assert.deepEqual([out.adopted, out.changed, out.tag, out.previousTag, out.running], [true, true, 'v4.5.12', 'v4.5.11', true]);
      assert.equal(typeof out.downtimeSeconds, 'number');
      assert.ok(steps.includes('joining operation upgrade-1, already running'), steps.join('\n'));
      assert.ok(steps.includes('recreating the supervisor with v4.5.12'), steps.join('\n'));
    } finally {
      second.dispose();
    }

    const supervisors = hosts.inspect(1).containers.filter((c) => c.image.includes('/supervisor:'));
    assert.deepEqual(
      supervisors.map((c) => [c.name, c.image, c.state]),
      [['trigger-supervisor-1', 'ghcr.io/triggerdotdev/supervisor:v4.5.12', 'running']],
    );
    // The first attempt's own process went too (its next write hit the closed connection): nothing of the agent runs.
    await waitFor('no agent process left', () => (agentProcesses(hosts).length === 0 ? true : undefined), 15_000);
  });

  it('power off stops the runs that left their SSH session, too', async () => {
    pullMs = 60_000;
    const conn = await connect();
    const steps: string[] = [];
    const attempt = agent(conn, agentUpgradeCommand('v4.5.10', { op: 'upgrade-2' }), steps).catch((err: unknown) => err);
    await waitFor('the pull to start', () => steps.find((s) => s.startsWith('pulling ')));
    assert.ok(agentProcesses(hosts).length > 0);
    await hosts.powerOff(1);
    await attempt;
    conn.dispose();
    assert.deepEqual(agentProcesses(hosts), []);
  });
});
