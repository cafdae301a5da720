import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { failureConverter } from '../../src/temporal/failure-converter';

/** Temporal's codec protocol as the CLI and the UI speak it: proto JSON, base64 data and metadata values. */
const toJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

describe('codec server', () => {
  const codec = new EncryptionCodec(randomBytes(32));
  const ui = 'http://127.0.0.1:8233';
  let server: CodecServer;
  const undecodable: string[] = [];

  before(async () => {
    server = await startCodecServer(codec, { allowedOrigins: [ui], onUndecodable: (reason) => undecodable.push(reason) });
  });
  after(() => server.close());

  const post = (path: string, payloads: unknown[], headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify({ payloads }) });

  it("decodes an encrypted failure's encodedAttributes at /decode and under a namespace segment", async () => {
    const failure = failureConverter.errorToFailure(ApplicationFailure.nonRetryable('Invalid heal input: input.source: bad', 'InvalidInput'), defaultPayloadConverter);
    const [encrypted] = await codec.encode([failure.encodedAttributes!]);
    assert.doesNotMatch(Buffer.from(encrypted!.data!).toString('latin1'), /Invalid heal input/);
    assert.match(failure.message ?? '', /--codec-endpoint/);
    for (const path of ['/decode', '/default/decode']) {
      const res = await post(path, [toJson(encrypted!)]);
      assert.equal(res.status, 200, path);
      const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      const attrs = JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString()) as { message: string };
      assert.equal(attrs.message, 'Invalid heal input: input.source: bad', path);
      assert.equal(Buffer.from(body.payloads[0]!.metadata['encoding']!, 'base64').toString(), 'json/plain');
    }
  });

  it('returns a payload it cannot decode as it is, and decodes the others of the request', async () => {
    const forged = { metadata: { encoding: Buffer.from('binary/encrypted').toString('base64'), 'encryption-key-id': Buffer.from(codec.keyId).toString('base64') }, data: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    const [good] = await codec.encode([defaultPayloadConverter.toPayload({ ok: true })]);
    const res = await post('/decode', [forged, toJson(good!)]);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.deepEqual(body.payloads[0], forged);
    assert.deepEqual(JSON.parse(Buffer.from(body.payloads[1]!.data, 'base64').toString()), { ok: true });
    assert.deepEqual(undecodable, [`Payload names key ${codec.keyId} but does not decrypt with it: it is corrupt or forged.`]);
  });

  it('encodes what it decodes back', async () => {
    const res = await post('/encode', [toJson(defaultPayloadConverter.toPayload({ a: 1 }))]);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const back = await post('/decode', body.payloads);
    const decoded = (await back.json()) as { payloads: { data: string }[] };
    assert.deepEqual(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()), { a: 1 });
  });

  it('answers the UI’s CORS preflight for its origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    const ok = await preflight(ui);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ui);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const other = await preflight('http://evil.example');
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('says what it serves: 404 elsewhere, 405 for another method', async () => {
    assert.equal((await fetch(`${server.url}/nope`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${server.url}/decode`)).status, 405);
    assert.equal((await fetch(`${server.url}/decode`, { method: 'POST', body: '{"payloads": [' })).status, 400);
  });
});
