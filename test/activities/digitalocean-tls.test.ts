import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { startDigitalOceanApi, type DigitalOceanSandbox } from '../../sandbox/digitalocean';
import { ensureSandboxTls } from '../../sandbox/tls';
import { createDigitalOceanApi, toDigitalOceanFailure } from '../../src/activities/digitalocean';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { loadConfig } from '../../src/config';
import { ConfigError, ErrorType } from '../../src/shared/errors';
import { activityDepsFromConfig } from '../../src/worker';

/** A plain-HTTP request to the stand-in's port, token and all, as a client that forgot the "s" would send it. */
function plainHttp(url: string, token: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the DigitalOcean stand-in speaks HTTPS only, with a CA trusted through configuration', () => {
  let dir: string;
  let sandbox: DigitalOceanSandbox;
  let caPath: string;
  const codec = new EncryptionCodec(Buffer.alloc(32, 3));
  const configFor = (env: Record<string, string>) =>
    loadConfig({ DIGITALOCEAN_TOKEN: sandbox.token, DIGITALOCEAN_API_URL: sandbox.url, TRIGGER_OPS_DATA_DIR: join(dir, 'data'), ...env });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-do-tls-'));
    const tls = ensureSandboxTls(join(dir, 'tls'));
    caPath = tls.caPath;
    sandbox = await startDigitalOceanApi({ tls });
  });

  after(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers plain HTTP with a 400 naming its https:// address, and serves nothing', async () => {
    assert.match(sandbox.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const plain = await plainHttp(`${sandbox.url.replace(/^https:/, 'http:')}/v2/account`, sandbox.token);
    assert.equal(plain.status, 400);
    assert.match((JSON.parse(plain.body) as { message: string }).message, new RegExp(`HTTPS only: use ${sandbox.url}`));
    assert.deepEqual(sandbox.inspect().callsByOperation, {});
  });

  it('a client that does not trust its CA fails with a final ConfigError naming TRIGGER_OPS_CA_CERTS, without the token', async () => {
    const api = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url });
    const err = await api.getAccount().then(
      () => assert.fail('an untrusted certificate was accepted'),
      (e: unknown) => e,
    );
    const failure = toDigitalOceanFailure(err);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, ErrorType.ConfigError);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^DigitalOcean getAccount: the server's TLS certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    assert.match(failure.message, /DIGITALOCEAN_API_URL .* set TRIGGER_OPS_CA_CERTS to a PEM file of that CA/);
    for (const text of [failure.message, JSON.stringify(failure.details), (err as Error).stack ?? '']) assert.ok(!text.includes(sandbox.token));
    assert.deepEqual(sandbox.inspect().callsByOperation, {}, 'the request never got past the handshake');
  });

  it("with TRIGGER_OPS_CA_CERTS naming the CA's file, the worker's client works (and the config alone made it so)", async () => {
    const deps = activityDepsFromConfig(configFor({ TRIGGER_OPS_CA_CERTS: caPath }), codec);
    assert.equal((await deps.digitalocean.getAccount()).status, 'active');

    const without = activityDepsFromConfig(configFor({}), codec);
    await assert.rejects(without.digitalocean.getAccount(), /set TRIGGER_OPS_CA_CERTS/);
  });

  it('a TRIGGER_OPS_CA_CERTS that names no file, or a file with no certificate, stops the worker at start with its name', () => {
    assert.throws(() => activityDepsFromConfig(configFor({ TRIGGER_OPS_CA_CERTS: join(dir, 'missing.pem') }), codec), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^TRIGGER_OPS_CA_CERTS: cannot read .*missing\.pem \(ENOENT\)/);
      return true;
    });
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    assert.throws(() => activityDepsFromConfig(configFor({ TRIGGER_OPS_CA_CERTS: junk }), codec), /TRIGGER_OPS_CA_CERTS: .*junk\.pem holds no readable PEM certificate/);
  });

  it('keeps its CA in the directory it is given: the same on every start there, another elsewhere', () => {
    const again = ensureSandboxTls(join(dir, 'tls'));
    assert.equal(again.ca, sandbox.ca);
    assert.equal(again.caPath, caPath);
    const elsewhere = ensureSandboxTls(join(dir, 'other-tls'));
    assert.notEqual(elsewhere.ca, sandbox.ca);
  });
});
