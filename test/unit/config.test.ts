import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, redact } from '../../src/config';
import { ConfigError } from '../../src/shared/errors';

describe('loadConfig', () => {
  it('applies defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.temporal.address, undefined);
    assert.equal(config.temporal.taskQueue, 'trigger-ops');
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.temporal.tls, false);
  });

  it('names the variable and the accepted values when one is wrong', () => {
    assert.throws(
      () => loadConfig({ LOG_LEVEL: 'LOUD', TEMPORAL_DEV_PORT: 'abc' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /LOG_LEVEL/.test(err.message) &&
        /"DEBUG"\|"INFO"\|"WARN"\|"ERROR"|DEBUG.*INFO.*WARN.*ERROR/.test(err.message) &&
        /TEMPORAL_DEV_PORT/.test(err.message),
    );
  });

  it('treats empty strings as unset', () => {
    assert.equal(loadConfig({ TEMPORAL_ADDRESS: '' }).temporal.address, undefined);
  });

  it('turns TLS on for an API key and requires mTLS pairs to be complete', () => {
    assert.equal(loadConfig({ TEMPORAL_API_KEY: 'k' }).temporal.tls, true);
    assert.throws(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: '/c.pem' }), /TEMPORAL_TLS_KEY_PATH/);
  });

  it('redacts secret values', () => {
    const shown = redact(loadConfig({ TEMPORAL_API_KEY: 'super-secret-key', TRIGGER_OPS_CODEC_KEY: 'c2VjcmV0' }));
    assert.equal(shown['TEMPORAL_API_KEY'], '[redacted]');
    assert.ok(!JSON.stringify(shown).includes('super-secret-key'));
    assert.ok(!JSON.stringify(shown).includes('c2VjcmV0'));
  });
});
