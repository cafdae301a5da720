import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server';
import { findOrInstallTemporal } from '../../src/controller/temporal-cli';
import { INSTALLATION_MESSAGE_NAMES, WORKFLOW_TYPES } from '../../src/shared/installation-messages';
import type { DeployResult, DesiredState } from '../../src/shared/deploy';
import { ENCRYPTED_FAILURE_HINT } from '../../src/temporal/failure-converter';
import { startWorld, type World } from '../helpers/installation';
import { deployAndAdopt, installationHandle, status, waitForStatus } from '../helpers/lifecycle';
import { messageCases, workflowCases, type Malformed } from '../helpers/malformed';
import { waitFor } from '../helpers/wait';

const exec = promisify(execFile);

interface HistoryEvent {
  eventType: string;
  workflowExecutionFailedEventAttributes?: { failure: { message: string; encodedAttributes?: { data: string }; applicationFailureInfo?: { type: string } } };
}

/**
 * Every door, knocked on with malformed JSON through the real `temporal` CLI, as anyone with access to the namespace
 * can: every workflow type started with a bad input fails once with InvalidInput naming the field (no workflow-task
 * failure loop); every signal, update and query of the installation with bad arguments is refused with its reason
 * (a signal in `status`, an update by its validator, a query with an error), and the installation keeps working.
 * The cases come from WORKFLOW_TYPES and INSTALLATION_MESSAGE_NAMES, so a new door without cases fails here.
 */
describe('malformed input at every door, through the temporal CLI', () => {
  let world: World;
  let codec: CodecServer;
  let temporalBin: string;
  let installed: { result: DeployResult; desired: DesiredState };
  let started = 0;

  const temporal = async (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    return exec(temporalBin, [...args, '--address', world.temporal.address], { maxBuffer: 16 * 1024 * 1024 }).then(
      (ok) => ({ code: 0, ...ok }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
  };
  const withCodec = (args: readonly string[]) => [...args, '--codec-endpoint', codec.url];

  /** The refusal names exactly one problem, and that one is the case's. */
  const assertRefusal = (message: string, refusedAs: string, c: Malformed, where: string) => {
    assert.ok(message.startsWith(refusedAs), `${where}: "${message.slice(0, 300)}" should start with "${refusedAs}"`);
    const rest = message.slice(refusedAs.length);
    // "… it takes no arguments (<problem>)": the problem is inside the parentheses.
    const problem = refusedAs.endsWith('(') ? rest.replace(/\)$/, '') : rest;
    assert.match(problem, c.names, `${where}: ${message.slice(0, 300)}`);
    assert.ok(!problem.includes('; '), `${where}: one problem expected, got ${problem.slice(0, 300)}`);
  };

  const historyOf = async (workflowId: string): Promise<HistoryEvent[]> => {
    const { stdout } = await temporal(withCodec(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json']));
    return (JSON.parse(stdout) as { events: HistoryEvent[] }).events;
  };

  before(async () => {
    world = await startWorld();
    await world.startWorker();
    codec = await startCodecServer(world.temporal.codec);
    temporalBin = findOrInstallTemporal({ configuredPath: process.env['TEMPORAL_CLI_PATH'] });
    const { result } = await deployAndAdopt(world, 'door');
    const desired = (await status(world, 'door')).desired;
    assert.ok(desired);
    installed = { result, desired };
  });

  after(async () => {
    await codec?.close();
    await world?.close();
  });

  it('every workflow type started with malformed input fails once with InvalidInput naming the field', async () => {
    const cases = workflowCases(installed);
    for (const type of Object.values(WORKFLOW_TYPES)) {
      const ofType = cases[type];
      assert.ok(ofType.length >= 5, `malformed cases for workflow type ${type}`);
      for (const c of ofType) {
        const workflowId = `malformed-${type}-${++started}`;
        const where = `${type} with ${c.label}`;
        const start = await temporal(['workflow', 'start', '--type', type, '--task-queue', world.temporal.taskQueue, '--workflow-id', workflowId, ...c.args]);
        assert.equal(start.code, 0, `${where}: ${start.stderr}`);
        const handle = world.temporal.client.workflow.getHandle(workflowId);
        await waitFor(`${where} to end (a workflow-task failure loop never ends)`, async () => ((await handle.describe()).status.name === 'RUNNING' ? undefined : true), 20_000, 100);
        const events = await historyOf(workflowId);
        assert.deepEqual(events.map((e) => e.eventType).filter((t) => t.includes('WORKFLOW_TASK_FAILED')), [], where);
        const failed = events.at(-1)?.workflowExecutionFailedEventAttributes?.failure;
        assert.equal(failed?.applicationFailureInfo?.type, 'InvalidInput', where);
        const decoded = JSON.parse(Buffer.from(failed.encodedAttributes?.data ?? '', 'base64').toString()) as { message: string };
        assertRefusal(decoded.message, `Invalid ${type} input: `, c, where);
      }
    }
  });

  it('every signal with malformed arguments is recorded as refused and changes nothing; a good one still runs after', async () => {
    const { signals } = messageCases(installed);
    const before = await status(world, 'door');
    for (const name of INSTALLATION_MESSAGE_NAMES.signals) {
      const signal = signals[name];
      assert.ok(signal, `malformed cases for signal ${name}`);
      for (const c of signal.cases) {
        const where = `signal ${name} with ${c.label}`;
        const last = (await status(world, 'door')).recent[0]?.id;
        const sent = await temporal(['workflow', 'signal', '--workflow-id', 'installation:door', '--name', name, ...c.args]);
        assert.equal(sent.code, 0, `${where}: ${sent.stderr}`);
        const s = await waitForStatus(world, 'door', where, (st) => st.recent[0] !== undefined && st.recent[0].id !== last, 15_000);
        const record = s.recent[0];
        assert.equal(record?.outcome, 'refused', `${where}: ${JSON.stringify(record)}`);
        assert.equal(record.kind, signal.kind, where);
        assertRefusal(record.message, signal.refusedAs, c, where);
        assert.equal(record.startedAt, null, where);
      }
    }
    const afterAll = await status(world, 'door');
    assert.deepEqual(afterAll.desired, before.desired);
    assert.equal(afterAll.retiring, false);
    assert.deepEqual(afterAll.queue, []);

    const good = await temporal(['workflow', 'signal', '--workflow-id', 'installation:door', '--name', 'heal', '--input', '{"source":"manual"}']);
    assert.equal(good.code, 0, good.stderr);
    await waitForStatus(world, 'door', 'the good heal to run', (s) => s.recent.some((r) => r.kind === 'heal' && r.outcome === 'succeeded'), 30_000);
  });

  it('every update with malformed arguments is rejected by its validator with the reason, and never accepted', async () => {
    const { updates } = messageCases(installed);
    const accepted = async () => (await historyOf('installation:door')).filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED').length;
    const acceptedBefore = await accepted();
    for (const name of INSTALLATION_MESSAGE_NAMES.updates) {
      const update = updates[name];
      assert.ok(update, `malformed cases for update ${name}`);
      for (const c of update.cases) {
        const where = `update ${name} with ${c.label}`;
        const sent = await temporal(withCodec(['workflow', 'update', 'execute', '--workflow-id', 'installation:door', '--name', name, ...c.args]));
        assert.notEqual(sent.code, 0, `${where} was accepted: ${sent.stdout}`);
        const reason = /unable to update workflow: (.*) \(type: InvalidInput, retryable: false\)/.exec(sent.stderr)?.[1];
        assert.ok(reason, `${where}: ${sent.stderr.slice(0, 500)}`);
        assertRefusal(reason, update.refusedAs, c, where);
      }
    }
    assert.equal(await accepted(), acceptedBefore, 'no malformed update reached the history');
  });

  it('every query with arguments it does not take is refused with the reason, and answers without them', async () => {
    const { queries } = messageCases(installed);
    for (const name of INSTALLATION_MESSAGE_NAMES.queries) {
      const query = queries[name];
      assert.ok(query, `malformed cases for query ${name}`);
      for (const c of query.cases) {
        const where = `query ${name} with ${c.label}`;
        const sent = await temporal(withCodec(['workflow', 'query', '--workflow-id', query.workflowId, '--name', name, ...c.args]));
        assert.notEqual(sent.code, 0, `${where} answered: ${sent.stdout}`);
        const reason = /querying workflow failed: (.*)/.exec(sent.stderr)?.[1];
        assert.ok(reason, `${where}: ${sent.stderr.slice(0, 500)}`);
        assertRefusal(reason, query.refusedAs, c, where);
      }
      const plain = await temporal(withCodec(['workflow', 'query', '--workflow-id', query.workflowId, '--name', name]));
      assert.equal(plain.code, 0, `query ${name} without arguments: ${plain.stderr}`);
    }
  });

  it("the installation's history has no workflow-task failure: nothing above poisoned it", async () => {
    const events = await historyOf('installation:door');
    assert.deepEqual(events.filter((e) => e.eventType.includes('WORKFLOW_TASK_FAILED')), []);
    assert.equal((await installationHandle(world, 'door').describe()).status.name, 'RUNNING');
  });

  it("a failed workflow's message reads through the codec server, and is not in clear without it", async () => {
    const workflowId = 'malformed-readable';
    await temporal(['workflow', 'start', '--type', 'controllerCheck', '--task-queue', world.temporal.taskQueue, '--workflow-id', workflowId, '--input', '{"reason":42}']);
    await waitFor('the check to fail', async () => ((await world.temporal.client.workflow.getHandle(workflowId).describe()).status.name === 'FAILED' ? true : undefined), 20_000, 100);
    const message = 'Invalid controllerCheck input: input.reason: Invalid input: expected string, received number';

    const decoded = await temporal(withCodec(['workflow', 'show', '--workflow-id', workflowId, '--detailed']));
    assert.ok(decoded.stdout.includes(`failure.encodedAttributes.message: ${message}`), decoded.stdout);

    const plain = await temporal(['workflow', 'show', '--workflow-id', workflowId, '--detailed']);
    const raw = await temporal(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json']);
    for (const out of [plain.stdout, raw.stdout]) {
      assert.ok(!out.includes('Invalid controllerCheck input'), 'the message is encrypted at rest');
      assert.ok(!out.includes(Buffer.from(message).toString('base64').slice(0, 40)), 'not merely base64 either');
    }
    assert.ok(plain.stdout.includes(`failure.message: ${ENCRYPTED_FAILURE_HINT}`), plain.stdout);
    const described = await temporal(['workflow', 'describe', '--workflow-id', workflowId]);
    assert.ok(described.stdout.includes(`Message: ${ENCRYPTED_FAILURE_HINT}`), described.stdout);
  });
});
