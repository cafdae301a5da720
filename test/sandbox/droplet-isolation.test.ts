// A sandbox droplet is a machine of its own: what runs in it cannot reach the host that runs the sandbox. Sends
// what a careless or hostile session would (reboot, writes to /etc and /opt, a connection to a host port, a look at
// the host's processes) and checks the host is untouched, then that the droplet looks like its image.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { connectDroplet, type DropletConnection } from '../../src/activities/ssh';
import { createDropletHosts, type DropletHosts } from '../../sandbox/droplets';
import { findIsolationKit } from '../../sandbox/droplets/isolation';
import { freePort } from '../helpers/ports';
import { cloudConfig, dropletSpec, tempBase, testKeys, waitFor, type TestKeys } from './droplets-helpers';

const run = promisify(execFile);

describe('sandbox droplets are isolated from the host', () => {
  let hosts: DropletHosts;
  let sshPort: number;
  let keys: TestKeys;
  let ipv4: string;
  let conn: DropletConnection;
  const canary = `/opt/trigger-ops-isolation-canary-${randomBytes(4).toString('hex')}`;
  const hostFile = `/etc/trigger-ops-isolation-${randomBytes(4).toString('hex')}`;
  let listener: Server;
  let listenerPort: number;
  let accepted = 0;

  before(async () => {
    mkdirSync(canary, { recursive: true });
    writeFileSync(join(canary, 'keep'), 'the host file\n');
    listener = createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    listenerPort = (listener.address() as { port: number }).port;
    sshPort = await freePort();
    keys = testKeys();
    hosts = createDropletHosts({ baseDir: tempBase('isolation'), sshPort });
    ({ ipv4 } = await hosts.create(dropletSpec(301, cloudConfig(keys))));
    conn = await connectDroplet({ host: ipv4, port: sshPort, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey: keys.host.publicKey, timeoutMs: 5000 });
  });

  after(async () => {
    conn?.dispose();
    await hosts?.close();
    listener?.close();
    rmSync(canary, { recursive: true, force: true });
    rmSync(hostFile, { force: true });
  });

  it('a command outside the droplet contract is "command not found" and never runs on the host', async () => {
    for (const command of ['reboot', 'shutdown -h now', 'node -e 1', 'python3 -c 1', 'apt update', 'curl http://example.com', 'nsenter --help', 'bwrap --help']) {
      const result = await conn.run(command);
      assert.equal(result.code, 127, `${command}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /command not found/, command);
    }
    // Even by absolute path: the host's programs are not on the droplet's disk.
    const byPath = await conn.run('/sbin/reboot; /usr/sbin/reboot; /usr/lib/systemd/systemd --version');
    assert.equal(byPath.code, 127, byPath.stderr);
    assert.equal(hosts.inspect(301).power, 'on');
    assert.equal((await conn.run('echo still up')).stdout, 'still up\n');
  });

  it('/etc, /opt and / are the droplet\'s: writes and deletes land on its disk, never on the host', async () => {
    const touched = await conn.run(`touch ${hostFile} && ls ${hostFile}`);
    assert.equal(touched.code, 0, touched.stderr);
    assert.equal(existsSync(hostFile), false, 'the host /etc is untouched');
    assert.equal(existsSync(join(hosts.rootOf(301), hostFile)), true, 'the file is on the droplet disk');

    const removed = await conn.run(`ls ${canary} 2>&1; rm -rf ${canary}; echo rc=$?`);
    assert.match(removed.stdout, /No such file or directory/);
    assert.equal(readFileSync(join(canary, 'keep'), 'utf8'), 'the host file\n');
    // The droplet's programs are read-only: it cannot replace them, and through them, the host's.
    const overwrite = await conn.run('echo x > /usr/bin/cat; rm -f /usr/bin/bash; echo x > /usr/lib/x86_64-linux-gnu/libc.so.6; cat /etc/hostname');
    assert.equal(overwrite.stdout, 'tops-test-301\n');
    assert.match(overwrite.stderr, /Read-only file system|Device or resource busy/);
  });

  it('sees only its own processes, has no capabilities and reaches no host port', async () => {
    const procs = await conn.run('for p in /proc/[0-9]*; do cat "$p/cmdline" 2>/dev/null | tr "\\0" " "; echo; done');
    assert.ok(!procs.stdout.includes('node'), `the host's processes are invisible:\n${procs.stdout}`);
    const caps = await conn.run('grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status');
    assert.deepEqual(caps.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1]), ['0000000000000000', '0000000000000000', '0000000000000000']);
    const tcp = await conn.run(`echo hi > /dev/tcp/127.0.0.1/${listenerPort} && echo connected`);
    assert.notEqual(tcp.code, 0);
    const ssh = await conn.run(`echo hi > /dev/tcp/${ipv4}/${sshPort} && echo connected`);
    assert.notEqual(ssh.code, 0, 'not even its own sshd from inside: only loopback is there');
    assert.equal(accepted, 0);
  });

  it('looks like its image: Ubuntu 24.04, its hostname, an OpenSSH banner, ed25519, ecdsa and rsa host keys', async () => {
    const release = await conn.run('. /etc/os-release && echo "$ID $VERSION_ID" && hostname && uname -s');
    assert.equal(release.stdout, `ubuntu 24.04\ntops-test-301\nLinux\n`);
    const docker = await conn.run('command -v docker systemctl cloud-init iptables && docker compose version');
    assert.equal(docker.stdout, '/usr/bin/docker\n/usr/bin/systemctl\n/usr/bin/cloud-init\n/usr/sbin/iptables\nDocker Compose version v2.32.4\n');
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = connect(sshPort, ipv4);
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk.toString('utf8').split('\r\n')[0] ?? '');
        socket.destroy();
      });
      socket.once('error', reject);
    });
    assert.match(banner, /^SSH-2\.0-OpenSSH_9\.6p1 Ubuntu-3ubuntu13\.\d+$/);
    // sshd's rsa key joins once made (half a second of CPU at first boot).
    await waitFor('the rsa host key', () => (existsSync(join(hosts.rootOf(301), 'etc/ssh/ssh_host_rsa_key')) ? true : undefined));
    const scan = await run('ssh-keyscan', ['-p', String(sshPort), '-t', 'ed25519,ecdsa,rsa', ipv4]);
    const types = scan.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[1]).sort();
    assert.deepEqual(types, ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    assert.ok(scan.stdout.includes(keys.host.publicKey.split(' ')[1] ?? '-'), 'the ed25519 key is the one cloud-init installed');
  });

  it('power off ends every process of the droplet, those that left their session included', async () => {
    const started = await conn.run('setsid sleep 600 < /dev/null > /dev/null 2>&1 & echo started');
    assert.equal(started.stdout, 'started\n');
    assert.ok(hosts.inspect(301).processes.some((p) => p.command === 'sleep 600'));
    await hosts.powerOff(301);
    assert.deepEqual(hosts.inspect(301).processes, []);
  });

  it('refuses to start droplets where isolation cannot be had, rather than run them on the host', () => {
    const kit = findIsolationKit(['/nonexistent-directory']);
    assert.ok('problem' in kit);
    assert.match(kit.problem, /bubblewrap/);
  });
});
