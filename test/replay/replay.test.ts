import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { workerDataConverter } from '../../src/temporal/connection';
import { Worker } from '@temporalio/worker';
import { TEST_CODEC_KEY, workflowBundle } from '../helpers/temporal';

const dir = join(__dirname, 'histories');
const histories = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('recorded histories replay against the current workflow code', () => {
  it('has at least one recorded history', () => {
    assert.ok(histories.length > 0);
  });
  for (const file of histories) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
      await Worker.runReplayHistory(
        { workflowBundle: await workflowBundle(), dataConverter: workerDataConverter(new EncryptionCodec(TEST_CODEC_KEY)) },
        history as Parameters<typeof Worker.runReplayHistory>[1],
        file,
      );
    });
  }
});
