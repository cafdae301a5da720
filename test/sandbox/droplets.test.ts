import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connectDroplet, HostKeyMismatchError, SshUnavailableError, type DropletConnection } from '../../src/activities/ssh';
import { createDropletHosts, type DropletHosts } from '../../sandbox/droplets';
import { freePort } from '../helpers/ports';
import {
  cloudConfig,
  dropletSpec,
  startFakePlatform,
  tempBase,
  testKeys,
  waitFor,
  type FakePlatform,
  type TestKeys,
} from './droplets-helpers';

const run = promisify(execFile);

const COMPOSE = `name: trigger
x-logging: &logging
  driver: local
services:
  supervisor:
    image: ghcr.io/triggerdotdev/supervisor:\${TRIGGER_IMAGE_TAG:?pin a tag}
    restart: unless-stopped
    logging: *logging
    depends_on: [docker-proxy]
    networks: [supervisor, docker-proxy]
    environment:
      TRIGGER_API_URL: \${TRIGGER_API_URL:?}
      OTEL_EXPORTER_OTLP_ENDPOINT: \${TRIGGER_API_URL:?}/otel
      TRIGGER_WORKER_TOKEN: \${TRIGGER_WORKER_TOKEN:?}
      MANAGED_WORKER_SECRET: \${MANAGED_WORKER_SECRET:?}
      TRIGGER_WORKER_INSTANCE_NAME: \${TRIGGER_WORKER_INSTANCE_NAME:?}
      DEBUG: \${SUPERVISOR_DEBUG:-0}
    healthcheck:
      test: ["CMD", "node", "-e", "process.exit(0)"]
      interval: 30s
  docker-proxy:
    image: ghcr.io/tecnativa/docker-socket-proxy:0.3.0
    restart: unless-stopped
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
networks:
  supervisor: { name: supervisor }
  docker-proxy: { name: docker-proxy }
`;

const DIR = '/opt/trigger-ops/supervisor';
const COMPOSE_CMD = `docker compose --project-directory ${DIR} -f ${DIR}/compose.yaml --env-file ${DIR}/.env`;

describe('sandbox droplets', () => {
  let hosts: DropletHosts;
  let baseDir: string;
  let sshPort: number;
  let keys: TestKeys;
  let platform: FakePlatform;
  const token = 'tr_wgt_0123456789abcdefghij0123456789abcdefghij';
  const secret = 'managed-secret-for-tests';

  before(async () => {
    baseDir = tempBase('droplets');
    sshPort = await freePort();
    keys = testKeys();
    platform = await startFakePlatform(token, secret);
    hosts = createDropletHosts({
      baseDir,
      sshPort,
      supervisorHeartbeatMs: 200,
      restartBackoffMs: 50,
      restartBackoffMaxMs: 400,
      healthIntervalMs: 100,
      stopTimeoutMs: 500,
    });
  });

  after(async () => {
    await hosts.close();
    await platform.close();
  });

  const connect = (ip: string, pinnedHostKey = keys.host.publicKey) =>
    connectDroplet({ host: ip, port: sshPort, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey, timeoutMs: 3000 });

  async function sh(conn: DropletConnection, command: string, stdin?: string) {
    return conn.run(command, stdin === undefined ? {} : { stdin });
  }

  async function writeSupervisor(conn: DropletConnection, env: Record<string, string>) {
    const envText = Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('');
    const r1 = await sh(conn, `mkdir -p ${DIR} && cat > ${DIR}/compose.yaml`, COMPOSE);
    const r2 = await sh(conn, `umask 077 && cat > ${DIR}/.env`, envText);
    assert.equal(r1.code + r2.code, 0, r1.stderr + r2.stderr);
  }

  it('boots from #cloud-config: pinned host key, files, runcmd, cloud-init status, node-ssh session env', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(101, cloudConfig(keys)));
    assert.match(ipv4, /^127\.0\.\d+\.\d+$/);
    assert.notEqual(ipv4, '127.0.0.1');
    const conn = await connect(ipv4);
    try {
      const status = await sh(conn, 'cloud-init status --wait --format json');
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(
        { status: JSON.parse(status.stdout).status, errors: JSON.parse(status.stdout).errors },
        { status: 'done', errors: [] },
      );
      const root = hosts.rootOf(101);
      assert.equal(readFileSync(join(root, 'etc/trigger-ops/hello.txt'), 'utf8'), 'hello droplet\n');
      assert.equal(statSync(join(root, 'etc/trigger-ops/hello.txt')).mode & 0o777, 0o640);
      assert.equal(readFileSync(join(root, 'etc/trigger-ops/b64.txt'), 'utf8'), 'decoded');
      // runcmd ran with the droplet's environment, after the deferred file was written.
      assert.equal(readFileSync(join(root, 'var/runcmd.txt'), 'utf8'), 'ran in / as root\ndeferred ok\n');

      const env = await sh(conn, 'echo "$HOME|$(pwd)|$(hostname)|$PATH"; cat | tr a-z A-Z; exit 3', 'from stdin\n');
      assert.equal(env.code, 3);
      assert.equal(env.stdout, '/root|/root|tops-test-101|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nFROM STDIN\n');
      const view = hosts.inspect(101);
      assert.equal(view.power, 'on');
      assert.equal(view.cloudInit.status, 'done');
      assert.deepEqual(view.cloudInit.packages, ['jq']);
      assert.ok(view.hostCalls.some((c) => c.tool === 'systemctl' && c.argv.join(' ') === 'enable --now docker'));
      assert.ok(view.cloudInit.files.some((f) => f.path === '/usr/local/bin/deferred-tool' && f.deferred));
    } finally {
      conn.dispose();
    }
  });

  it('refuses a droplet presenting another host key before sending anything', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(102, cloudConfig(keys)));
    // cloud-init's runcmd calls systemctl on its own; let it finish so that every later call would be ours.
    await waitFor('cloud-init done', () => (hosts.inspect(102).cloudInit.status === 'done' ? true : undefined));
    hosts.faults.differentHostKey(102);
    const callsBefore = hosts.inspect(102).hostCalls.length;
    await assert.rejects(connect(ipv4), (err) => err instanceof HostKeyMismatchError && /SHA256:/.test(err.message));
    assert.equal(hosts.inspect(102).hostCalls.length, callsBefore);
    // A wrong pin is refused the same way.
    await hosts.destroy(102);
    const other = testKeys();
    const { ipv4: ip2 } = await hosts.create(dropletSpec(103, cloudConfig(keys)));
    await assert.rejects(connect(ip2, other.host.publicKey), HostKeyMismatchError);
    await hosts.destroy(103);
  });

  it('lets a standard OpenSSH client log in with the pinned key only', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(104, cloudConfig(keys)));
    const dir = tempBase('openssh');
    const identity = join(dir, 'id_ed25519');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(identity, keys.client.privateKey, { mode: 0o600 });
    writeFileSync(knownHosts, `[${ipv4}]:${sshPort} ${keys.host.publicKey}\n`);
    const args = (known: string) => [
      '-i', identity, '-p', String(sshPort), '-o', `UserKnownHostsFile=${known}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=5', '-n', `root@${ipv4}`,
      'cloud-init status --wait && echo "on $(hostname)"',
    ];
    const ok = await run('/usr/bin/ssh', args(knownHosts));
    // `--wait` prints progress dots while cloud-init runs, like the real one.
    assert.match(ok.stdout, /^\.*\n?status: done\non tops-test-104\n$/);
    writeFileSync(knownHosts, `[${ipv4}]:${sshPort} ${testKeys().host.publicKey}\n`);
    await assert.rejects(run('/usr/bin/ssh', args(knownHosts)), /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    await hosts.destroy(104);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the supervisor with docker compose: connects, heartbeats, health, version from the tag', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(105, cloudConfig(keys)));
    const conn = await connect(ipv4);
    try {
      await writeSupervisor(conn, {
        TRIGGER_IMAGE_TAG: 'v4.5.12',
        TRIGGER_API_URL: platform.url,
        TRIGGER_WORKER_TOKEN: token,
        MANAGED_WORKER_SECRET: secret,
        TRIGGER_WORKER_INSTANCE_NAME: 'tops-test-105',
      });
      const up = await sh(conn, `${COMPOSE_CMD} up -d --remove-orphans`);
      assert.equal(up.code, 0, up.stderr);
      await waitFor('connected log', async () => {
        const logs = await sh(conn, `${COMPOSE_CMD} logs --no-color supervisor`);
        return logs.stdout.includes('Connected to platform') || undefined;
      });
      await waitFor('heartbeats', () => platform.calls.filter((c) => c.instance === 'tops-test-105' && c.path === 'heartbeat' && c.status === 200).length >= 2 || undefined);
      const connectCall = platform.calls.find((c) => c.instance === 'tops-test-105' && c.path === 'connect');
      assert.equal(JSON.parse(connectCall?.body ?? '{}').metadata.workerVersion, '4.5.12');
      // The workload API answers inside the droplet only: no port of the host carries it (the compose file
      // publishes none).
      assert.equal(await hosts.probeWorkload(105), true);
      await assert.rejects(fetch(`http://${ipv4}:8020/health`));
      await waitFor('healthy', async () => {
        const inspect = await sh(conn, 'docker inspect trigger-supervisor-1');
        const [c] = JSON.parse(inspect.stdout);
        return c.State.Health.Status === 'healthy' ? c : undefined;
      });
      // The tools answer as the real ones do: health probes in the Log, the plain tables' columns, compose's
      // resolved model as YAML with services by name, and its version.
      const healthLog = JSON.parse((await sh(conn, 'docker inspect trigger-supervisor-1')).stdout)[0].State.Health.Log as { ExitCode: number; Output: string }[];
      assert.ok(healthLog.length >= 1 && healthLog.length <= 5 && healthLog.at(-1)?.ExitCode === 0, JSON.stringify(healthLog));
      const table = (await sh(conn, 'docker ps')).stdout.split('\n');
      assert.match(table[0] ?? '', /^CONTAINER ID {3}IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
      assert.ok(table.some((l) => /^[0-9a-f]{12} {3}ghcr\.io\/triggerdotdev\/supervisor:v4\.5\.12 +"docker-entrypoint\.s…" +.+ ago +Up .+trigger-supervisor-1$/.test(l)), table.join('\n'));
      const images = (await sh(conn, 'docker images')).stdout;
      assert.match(images, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/);
      assert.match(images, /\nghcr\.io\/triggerdotdev\/supervisor +v4\.5\.12 +[0-9a-f]{12} +.+ ago +[\d.]+MB\n/);
      const imageRows = (await sh(conn, 'docker images --format json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { Repository: string; Tag: string });
      assert.ok(imageRows.some((r) => r.Repository === 'ghcr.io/triggerdotdev/supervisor' && r.Tag === 'v4.5.12'));
      const config = parseYaml((await sh(conn, `${COMPOSE_CMD} config`)).stdout) as { name: string; services: Record<string, { image: string; environment: Record<string, string> }> };
      assert.equal(config.services['supervisor']?.image, 'ghcr.io/triggerdotdev/supervisor:v4.5.12');
      assert.equal(config.services['supervisor']?.environment['TRIGGER_WORKER_INSTANCE_NAME'], 'tops-test-105');
      assert.equal((await sh(conn, 'docker compose version')).stdout, 'Docker Compose version v2.32.4\n');
      assert.equal((await sh(conn, 'docker compose version --short')).stdout, '2.32.4\n');

      const ps = await sh(conn, `${COMPOSE_CMD} ps -a --format json`);
      const rows = ps.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(rows.map((r) => [r.Name, r.State]).sort(), [['trigger-docker-proxy-1', 'running'], ['trigger-supervisor-1', 'running']]);
      const again = await sh(conn, `${COMPOSE_CMD} up -d`);
      assert.match(again.stderr, /trigger-supervisor-1 {2}Running/);

      // A killed supervisor comes back (restart policy) with RestartCount 1.
      hosts.faults.killSupervisor(105);
      await waitFor('restart after kill', () => {
        const c = hosts.inspect(105).containers.find((x) => x.name === 'trigger-supervisor-1');
        return c?.restartCount === 1 && c.state === 'running' ? c : undefined;
      });

      // Power off: SSH refused and the supervisor gone; power on: both back.
      await hosts.powerOff(105);
      assert.equal(hosts.inspect(105).power, 'off');
      await assert.rejects(connect(ipv4), SshUnavailableError);
      assert.equal(await hosts.probeWorkload(105), false);
      await hosts.powerOn(105);
      const conn2 = await connect(ipv4);
      try {
        await waitFor('supervisor back', async () => {
          const r = await sh(conn2, "docker inspect --format '{{.State.Status}}' trigger-supervisor-1");
          return r.stdout.trim() === 'running' || undefined;
        });
        // "running" is the process started, as with Docker; its health server listens a moment later.
        await waitFor('health served again', async () => (await hosts.probeWorkload(105)) || undefined);
      } finally {
        conn2.dispose();
      }
    } finally {
      conn.dispose();
    }
  });

  it('crash-loops with a wrong managed secret; unknown tags fail to pull', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(106, cloudConfig(keys)));
    const conn = await connect(ipv4);
    try {
      const pull = await sh(conn, 'docker pull ghcr.io/triggerdotdev/supervisor:v4.5.13');
      assert.equal(pull.code, 1);
      assert.equal(pull.stderr, 'Error response from daemon: manifest unknown\n');
      await writeSupervisor(conn, {
        TRIGGER_IMAGE_TAG: 'v4.5.13',
        TRIGGER_API_URL: platform.url,
        TRIGGER_WORKER_TOKEN: token,
        MANAGED_WORKER_SECRET: 'wrong',
        TRIGGER_WORKER_INSTANCE_NAME: 'tops-test-106',
      });
      const badUp = await sh(conn, `${COMPOSE_CMD} up -d`);
      assert.equal(badUp.code, 1);
      assert.match(badUp.stderr, /manifest unknown/);
      await sh(conn, `sed -i s/v4.5.13/v4.5.11/ ${DIR}/.env`);
      const up = await sh(conn, `${COMPOSE_CMD} pull && ${COMPOSE_CMD} up -d`);
      assert.equal(up.code, 0, up.stderr);
      const restarts = await waitFor('crash loop', async () => {
        const r = await sh(conn, 'docker inspect trigger-supervisor-1');
        const [c] = JSON.parse(r.stdout);
        return c.RestartCount >= 2 ? c.RestartCount : undefined;
      });
      assert.ok(restarts >= 2);
      const ps = await sh(conn, 'docker ps -a --format json');
      const row = ps.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.Names === 'trigger-supervisor-1');
      assert.ok(['running', 'restarting'].includes(row.State));
      const logs = await sh(conn, 'docker logs --tail 50 trigger-supervisor-1');
      assert.match(logs.stderr, /\[SupervisorSession\] Failed to connect/);
      assert.ok(platform.calls.some((c) => c.instance === 'tops-test-106' && c.status === 401));
      const missing = await sh(conn, 'docker inspect nope');
      assert.deepEqual([missing.code, missing.stderr], [1, 'Error: No such object: nope\n']);
    } finally {
      conn.dispose();
    }
  });

  it('injects faults: docker stopped, full disk, ssh refused/hanging, cloud-init failure, invalid user data', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(107, cloudConfig(keys)));
    let conn = await connect(ipv4);
    // runcmd starts docker itself: let cloud-init finish first.
    assert.equal((await sh(conn, 'cloud-init status --wait')).code, 0);
    await hosts.faults.stopDocker(107);
    const info = await sh(conn, "docker info --format '{{json .}}'");
    assert.equal(info.code, 1);
    assert.match(info.stderr, /Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker.sock/);
    assert.equal((await sh(conn, 'systemctl is-active docker')).stdout, 'inactive\n');
    assert.equal((await sh(conn, 'systemctl start docker && systemctl is-active docker')).code, 0);
    hosts.faults.fullDisk(107, true);
    const df = await sh(conn, 'df -Pk /');
    assert.match(df.stdout.split('\n')[1] ?? '', / 100% \/$/);
    conn.dispose();

    await hosts.faults.sshRefuse(107);
    await assert.rejects(connect(ipv4), (err) => err instanceof SshUnavailableError && err.code === 'ECONNREFUSED');
    await hosts.faults.sshHang(107);
    const started = Date.now();
    await assert.rejects(
      connectDroplet({ host: ipv4, port: sshPort, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey: keys.host.publicKey, timeoutMs: 500 }),
      SshUnavailableError,
    );
    assert.ok(Date.now() - started < 3000);
    await hosts.faults.sshServe(107);
    conn = await connect(ipv4);
    assert.equal((await sh(conn, 'echo back')).stdout, 'back\n');
    conn.dispose();

    hosts.faults.failCloudInit();
    const { ipv4: ip108 } = await hosts.create(dropletSpec(108, cloudConfig(keys)));
    conn = await connect(ip108);
    const failed = await sh(conn, 'cloud-init status --wait --format json');
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.stdout).status, 'error');
    conn.dispose();

    const { ipv4: ip109 } = await hosts.create(dropletSpec(109, '#cloud-config\nwrite_files: nope\n', [keys.client.publicKey]));
    const view = hosts.inspect(109);
    assert.equal(view.cloudInit.status, 'error');
    assert.match(view.cloudInit.errors.join('\n'), /write_files/);
    // The provider's keys still let us in (the host key is generated: nothing to pin, so accept it via inspect).
    assert.match(ip109, /^127\./);
  });

  it('rebuild re-runs cloud-init on a wiped disk; destroy and close leave nothing behind', async () => {
    const { ipv4 } = await hosts.create(dropletSpec(110, cloudConfig(keys)));
    const root = hosts.rootOf(110);
    writeFileSync(join(root, 'scratch'), 'x');
    await hosts.rebuild(110, 'docker-20-04');
    assert.equal(existsSync(join(root, 'scratch')), false);
    const conn = await connect(ipv4);
    assert.match((await sh(conn, 'cloud-init status --wait')).stdout, /^\.*\n?status: done\n$/);
    assert.ok(existsSync(join(root, 'var/runcmd.txt')));
    conn.dispose();
    await hosts.destroy(110);
    assert.equal(existsSync(join(baseDir, '110')), false);
    await assert.rejects(connect(ipv4), SshUnavailableError);

    // A separate host set with a running supervisor: close() kills it and removes every directory.
    const dir = tempBase('close');
    const port = await freePort();
    const other = createDropletHosts({ baseDir: dir, sshPort: port, supervisorHeartbeatMs: 200 });
    const { ipv4: ip } = await other.create(dropletSpec(1, cloudConfig(keys)));
    const c = await connectDroplet({ host: ip, port, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey: keys.host.publicKey, timeoutMs: 3000 });
    await c.run(`mkdir -p ${DIR} && cat > ${DIR}/compose.yaml`, { stdin: COMPOSE });
    await c.run(`cat > ${DIR}/.env`, {
      stdin: `TRIGGER_IMAGE_TAG=v4.5.12\nTRIGGER_API_URL=${platform.url}\nTRIGGER_WORKER_TOKEN=${token}\nMANAGED_WORKER_SECRET=${secret}\nTRIGGER_WORKER_INSTANCE_NAME=close\n`,
    });
    assert.equal((await c.run(`${COMPOSE_CMD} up -d`)).code, 0);
    const pid = await waitFor('supervisor pid', () => other.inspect(1).containers.find((x) => x.name === 'trigger-supervisor-1')?.pid);
    c.dispose();
    await other.close();
    assert.equal(existsSync(dir), false);
    assert.throws(() => process.kill(pid, 0));
    await assert.rejects(fetch(`http://${ip}:8020/health`));
  });
});
