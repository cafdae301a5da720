import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorType } from '../../src/shared/errors';
import {
  connectDroplet,
  HostKeyMismatchError,
  SshAuthError,
  SshInputError,
  SshUnavailableError,
  toSshFailure,
  type ConnectDropletOptions,
} from '../../src/activities/ssh';
import { createDropletHosts, type DropletHosts } from '../../sandbox/droplets';
import { freePort } from '../helpers/ports';
import { cloudConfig, dropletSpec, tempBase, testKeys, type TestKeys } from '../sandbox/droplets-helpers';

describe('SSH adapter against a sandbox droplet', () => {
  let hosts: DropletHosts;
  let keys: TestKeys;
  let options: ConnectDropletOptions;

  before(async () => {
    keys = testKeys();
    const sshPort = await freePort();
    hosts = createDropletHosts({ baseDir: tempBase('ssh'), sshPort });
    const { ipv4 } = await hosts.create(dropletSpec(1, cloudConfig(keys)));
    options = {
      host: ipv4,
      port: sshPort,
      username: 'root',
      privateKey: keys.client.privateKey,
      pinnedHostKey: keys.host.publicKey,
      timeoutMs: 3000,
    };
  });

  after(async () => {
    await hosts.close();
  });

  it('runs commands with stdin and returns code, stdout and stderr untrimmed', async () => {
    const conn = await connectDroplet(options);
    try {
      const result = await conn.run('cat; echo " err" >&2; exit 7', { stdin: '  payload\n' });
      assert.deepEqual(result, { code: 7, stdout: '  payload\n', stderr: ' err\n' });
      const many = await Promise.all([conn.run('echo a'), conn.run('echo b')]);
      assert.deepEqual(many.map((r) => r.stdout), ['a\n', 'b\n']);
    } finally {
      conn.dispose();
    }
  });

  it('maps a host-key mismatch to a non-retryable HostKeyMismatch failure naming both fingerprints', async () => {
    const err = await connectDroplet({ ...options, pinnedHostKey: testKeys().host.publicKey }).then(
      () => assert.fail('connected to an unpinned host'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostKeyMismatchError);
    assert.ok(!String(err.message).includes('PRIVATE KEY'));
    const failure = toSshFailure(err);
    assert.equal(failure?.type, ErrorType.HostKeyMismatch);
    assert.equal(failure?.nonRetryable, true);
    assert.match(failure?.message ?? '', /SHA256:.*SHA256:/);
  });

  it('maps a refused key to AuthError and an unreachable droplet to retryable Unavailable', async () => {
    await assert.rejects(connectDroplet({ ...options, privateKey: testKeys().client.privateKey }), (err: unknown) => {
      assert.ok(err instanceof SshAuthError);
      assert.equal(toSshFailure(err)?.type, ErrorType.AuthError);
      return true;
    });
    await hosts.faults.sshRefuse(1);
    await assert.rejects(connectDroplet(options), (err: unknown) => {
      assert.ok(err instanceof SshUnavailableError);
      const failure = toSshFailure(err);
      assert.equal(failure?.type, ErrorType.Unavailable);
      assert.equal(failure?.nonRetryable, false);
      return true;
    });
    await hosts.faults.sshHang(1);
    await assert.rejects(connectDroplet({ ...options, timeoutMs: 300 }), SshUnavailableError);
    await hosts.faults.sshServe(1);
    assert.equal(toSshFailure(new Error('other')), undefined);
  });

  it('gives up on a command that outlives its timeout', async () => {
    const conn = await connectDroplet(options);
    try {
      await assert.rejects(conn.run('sleep 5', { timeoutMs: 200 }), SshUnavailableError);
    } finally {
      conn.dispose();
    }
  });

  it('rejects a pinned key that is not an OpenSSH public key line', async () => {
    for (const pinnedHostKey of ['not a key!', keys.host.privateKey]) {
      await assert.rejects(connectDroplet({ ...options, pinnedHostKey }), (err: unknown) => {
        assert.ok(err instanceof SshInputError);
        assert.equal(toSshFailure(err)?.type, ErrorType.InvalidInput);
        return true;
      });
    }
  });
});
