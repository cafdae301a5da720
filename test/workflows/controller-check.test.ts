import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { loadConfig } from '../../src/config';
import { workerDataConverter } from '../../src/temporal/connection';
import { activityDepsFromConfig } from '../../src/worker';
import { controllerCheck } from '../../src/workflows';
import { startTestTemporal, TEST_CODEC_KEY, workflowBundle, type TestTemporal } from '../helpers/temporal';

describe('controllerCheck on a real Temporal dev server', () => {
  let t: TestTemporal;
  let worker: Worker;
  let running: Promise<void>;

  before(async () => {
    t = await startTestTemporal({ codecKey: TEST_CODEC_KEY });
    worker = await Worker.create({
      connection: t.connection,
      taskQueue: t.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(activityDepsFromConfig(loadConfig({ TRIGGER_OPS_DATA_DIR: join(__dirname, '..', '..', '.data', 'test') }), t.codec)),
      dataConverter: workerDataConverter(t.codec),
    });
    running = worker.run();
  });

  after(async () => {
    worker.shutdown();
    await running;
    await t.close();
  });

  it('runs the workflow through the worker and its activity', async () => {
    const workflowId = `controller-check-${Date.now()}`;
    const result = await t.client.workflow.execute(controllerCheck, {
      taskQueue: t.taskQueue,
      workflowId,
      args: [{ reason: 'test-reason-marker' }],
    });
    assert.equal(result.reason, 'test-reason-marker');
    assert.equal(result.codecKeyId, t.codec.keyId);
    assert.equal(result.dataDirWritable, true);

    // The server holds ciphertext only: the raw history never shows the input or the result in clear.
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const raw = JSON.stringify(history);
    assert.ok(!raw.includes('test-reason-marker'));
    if (process.env['RECORD_HISTORIES']) {
      writeFileSync(join(__dirname, '..', 'replay', 'histories', 'controller-check.json'), historyToJSON(history));
    }
  });

  it('fails at once on invalid input, naming the field', async () => {
    const err = await t.client.workflow
      .execute(controllerCheck, {
        taskQueue: t.taskQueue,
        workflowId: `controller-check-bad-${Date.now()}`,
        args: [{ reason: 'x'.repeat(300), extra: true } as never],
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'InvalidInput');
    assert.match(err.cause.message, /input\.reason/);
    assert.match(err.cause.message, /extra/);
    assert.equal(err.cause.nonRetryable, true);
  });
});
