import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Redactor } from '../../src/activities/secrets/redactor';
import { generateEd25519KeyPair } from '../../src/remote/keys';

it('redacts registered values and well-known secret formats, and leaves ordinary text alone', () => {
  const r = new Redactor();
  r.add('s3cr3t-value-123');
  r.add('abc'); // too short to be registered safely
  const key = generateEd25519KeyPair('k').privateKey;
  const text = [
    'token s3cr3t-value-123 used',
    'TRIGGER_WORKER_TOKEN=tr_wgt_QhQCxWKPBVn6lxrfMaTOqdGmkcOIhMqkDSWMeydv',
    'Authorization: Bearer tr_pat_0123456789abcdefABCDEF',
    `do token dop_v1_${'a1'.repeat(32)}`,
    key,
    'abc stays, trigger-ops stays',
  ].join('\n');
  const out = r.redact(text);
  assert.ok(!out.includes('s3cr3t-value-123'));
  assert.ok(!/tr_wgt_[0-9A-Za-z]{8}/.test(out));
  assert.ok(!/tr_pat_[0-9A-Za-z]{8}/.test(out));
  assert.ok(!out.includes('dop_v1_a1'));
  assert.ok(!out.includes('PRIVATE KEY'));
  assert.match(out, /abc stays, trigger-ops stays/);
});
