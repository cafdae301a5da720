import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, resolveCodecKey } from '../../src/codec/encryption-codec';
import { UndecodableMarkingCodec } from '../../src/codec/undecodable-codec';
import { UNDECODABLE_PAYLOAD } from '../../src/shared/validation';

describe('EncryptionCodec', () => {
  it('round-trips payloads and leaves no plaintext in the encoded form', async () => {
    const codec = new EncryptionCodec(randomBytes(32));
    const payload = defaultPayloadConverter.toPayload({ token: 'tr_wgt_plaintext' });
    const [encoded] = await codec.encode([payload]);
    assert.ok(encoded?.data);
    assert.ok(!Buffer.from(encoded.data).toString('latin1').includes('tr_wgt_plaintext'));
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { token: 'tr_wgt_plaintext' });
  });

  it('refuses to decode with another key and says which keys differ', async () => {
    const [encoded] = await new EncryptionCodec(randomBytes(32)).encode([defaultPayloadConverter.toPayload(1)]);
    await assert.rejects(new EncryptionCodec(randomBytes(32)).decode([encoded!]), /TRIGGER_OPS_CODEC_KEY/);
  });

  it('rejects keys that are not 32 bytes', () => {
    assert.throws(() => new EncryptionCodec(randomBytes(16)), /32 bytes/);
  });

  it('generates a local key once, 0600, and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codec-'));
    try {
      const first = resolveCodecKey(undefined, dir);
      assert.equal(statSync(join(dir, 'codec.key')).mode & 0o777, 0o600);
      assert.deepEqual(resolveCodecKey(undefined, dir), first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("UndecodableMarkingCodec (the worker's)", () => {
  const key = randomBytes(32);
  const codec = new EncryptionCodec(key);
  const worker = new UndecodableMarkingCodec(codec);
  const raw = (encoding: string, data: string, extra: Record<string, string> = {}) => ({
    metadata: Object.fromEntries(Object.entries({ encoding, ...extra }).map(([k, v]) => [k, Buffer.from(v)])),
    data: Buffer.from(data),
  });
  const reasonOf = async (payload: ReturnType<typeof raw>) => {
    const [decoded] = await worker.decode([payload]);
    const value = defaultPayloadConverter.fromPayload<Record<string, unknown>>(decoded!);
    return value[UNDECODABLE_PAYLOAD];
  };

  it('decodes what the strict codec decodes, and plain JSON, unchanged', async () => {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload({ version: 'v4.5.12' })]);
    const [decoded] = await worker.decode([encoded!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { version: 'v4.5.12' });
    assert.equal(await reasonOf(raw('json/plain', '{"source":"manual"}')), undefined);
  });

  it('turns what cannot be decoded into a value naming why, instead of an error', async () => {
    assert.match(String(await reasonOf(raw('binary/encrypted', '{}'))), /names no encryption-key-id/);
    assert.match(String(await reasonOf(raw('binary/encrypted', 'garbage-garbage-garbage-garbage', { 'encryption-key-id': codec.keyId }))), /corrupt or forged/);
    const [other] = await new EncryptionCodec(randomBytes(32)).encode([defaultPayloadConverter.toPayload(1)]);
    const [marked] = await worker.decode([other!]);
    assert.match(String(defaultPayloadConverter.fromPayload<Record<string, unknown>>(marked!)[UNDECODABLE_PAYLOAD]), /TRIGGER_OPS_CODEC_KEY/);
    assert.match(String(await reasonOf(raw('foo/bar', '{}'))), /unknown encoding "foo\/bar"/);
    assert.match(String(await reasonOf(raw('json/plain', '{not json'))), /not JSON/);
  });
});
