import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, resolveCodecKey } from '../../src/codec/encryption-codec';

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
