import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  AGENT_COMMAND,
  agentApplyCommand,
  agentCancelCommand,
  agentLogsCommand,
  agentPruneCommand,
  agentRestartCommand,
  agentRollbackCommand,
  agentStatusCommand,
  agentStopCommand,
  agentUpgradeCommand,
  agentVersionCommand,
  agentWaitCloudInitCommand,
  parseAgentOutput,
  parseAgentProgressLine,
  shellQuote,
} from '../../src/remote/agent-commands';

/** What bash makes of a command line: its words, NUL-separated, without running anything else. */
function words(commandLine: string): string[] {
  const res = spawnSync('bash', ['-c', `set -f; printf '%s\\0' ${commandLine.replace(/^trigger-ops-agent/, AGENT_COMMAND)}`], {
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.split('\0').slice(0, -1);
}

const hostile = [
  '',
  'plain',
  'with space',
  "it's",
  "'",
  "''\\'",
  '$(touch /tmp/pwned)',
  '`id`',
  '${HOME}',
  'a;b&&c||d|e>f<g',
  'new\nline',
  'tab\there',
  '*?[glob]',
  '~root',
  '-n',
  'é✓',
  '"double"',
  '\\',
];

describe('shellQuote', () => {
  for (const value of hostile) {
    it(`round-trips ${JSON.stringify(value)} through bash as one word`, () => {
      assert.deepEqual(words(shellQuote(value)), [value]);
    });
  }

  it('leaves plain words bare and quotes the rest', () => {
    assert.equal(shellQuote('v4.5.11'), 'v4.5.11');
    assert.equal(shellQuote('$(x)'), `'$(x)'`);
    assert.equal(shellQuote(''), `''`);
  });

  it('refuses NUL bytes, which no shell word can hold', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
});

describe('agent command builders', () => {
  it('build the documented command lines', () => {
    assert.deepEqual(agentVersionCommand(), { command: 'trigger-ops-agent version' });
    assert.deepEqual(agentStatusCommand(), { command: 'trigger-ops-agent status' });
    assert.deepEqual(agentUpgradeCommand('v4.5.12'), { command: 'trigger-ops-agent upgrade v4.5.12' });
    assert.deepEqual(agentUpgradeCommand('v4.5.12', { waitSeconds: 90 }), {
      command: 'trigger-ops-agent upgrade v4.5.12 --wait 90',
    });
    assert.deepEqual(agentRollbackCommand(), { command: 'trigger-ops-agent rollback' });
    assert.deepEqual(agentRestartCommand(), { command: 'trigger-ops-agent restart' });
    assert.deepEqual(agentStopCommand(), { command: 'trigger-ops-agent stop' });
    assert.deepEqual(agentLogsCommand(), { command: 'trigger-ops-agent logs' });
    assert.deepEqual(agentLogsCommand({ tail: 100 }), { command: 'trigger-ops-agent logs --tail 100' });
    assert.deepEqual(agentPruneCommand(), { command: 'trigger-ops-agent prune' });
    assert.deepEqual(agentWaitCloudInitCommand({ timeoutSeconds: 300 }), {
      command: 'trigger-ops-agent wait-cloud-init --timeout 300',
    });
  });

  it('apply sends the .env on stdin only and the compose file base64 in argv', () => {
    const env = "TRIGGER_IMAGE_TAG=v4.5.11\nTRIGGER_WORKER_TOKEN=tr_wgt_secret\nDOCKER_REGISTRY_PASSWORD='a b'\n";
    const compose = "name: trigger\nservices: {}\n# it's $(not) run\n";
    const cmd = agentApplyCommand({ env, compose });
    assert.equal(cmd.stdin, env);
    assert.ok(!cmd.command.includes('tr_wgt_secret'));
    const argv = words(cmd.command);
    assert.deepEqual(argv.slice(0, 3), [AGENT_COMMAND, 'apply', '--compose-b64']);
    assert.equal(Buffer.from(argv[3]!, 'base64').toString('utf8'), compose);
    assert.equal(argv.length, 4);
    assert.deepEqual(words(agentApplyCommand({ env, compose, start: false }).command).slice(4), ['--no-start']);
  });

  it('state-changing verbs carry the operation id and lock wait; rollback --to names its version', () => {
    assert.deepEqual(agentUpgradeCommand('v4.5.12', { waitSeconds: 90, op: 'wf-1.run-2.7' }), {
      command: 'trigger-ops-agent upgrade v4.5.12 --wait 90 --op wf-1.run-2.7',
    });
    assert.deepEqual(agentUpgradeCommand('v4.5.12', { op: undefined, waitSeconds: undefined }), { command: 'trigger-ops-agent upgrade v4.5.12' });
    assert.deepEqual(agentRollbackCommand({ to: 'v4.5.11', waitSeconds: 60, op: 'op:1', lockWaitSeconds: 120 }), {
      command: 'trigger-ops-agent rollback --to v4.5.11 --wait 60 --op op:1 --lock-wait 120',
    });
    assert.deepEqual(agentRestartCommand({ op: 'r1' }), { command: 'trigger-ops-agent restart --op r1' });
    assert.deepEqual(agentStopCommand({ op: 's1' }), { command: 'trigger-ops-agent stop --op s1' });
    assert.deepEqual(agentPruneCommand({ op: 'p1' }), { command: 'trigger-ops-agent prune --op p1' });
    assert.deepEqual(agentCancelCommand('wf-1.run-2.7'), { command: 'trigger-ops-agent cancel wf-1.run-2.7' });
    const apply = agentApplyCommand({ env: 'TRIGGER_IMAGE_TAG=v4.5.11\n', compose: 'name: trigger\n', start: false, op: 'a1' });
    assert.deepEqual(words(apply.command).slice(4), ['--no-start', '--op', 'a1']);
    assert.equal(apply.stdin, 'TRIGGER_IMAGE_TAG=v4.5.11\n');
  });

  it('refuses operation ids the agent would refuse', () => {
    for (const op of ['', 'a b', '../x', 'a/b', '$(id)', 'x'.repeat(201), 'é']) {
      assert.throws(() => agentUpgradeCommand('v4.5.12', { op }), /Invalid operation id/, op);
      assert.throws(() => agentCancelCommand(op), /Invalid operation id/, op);
    }
    assert.throws(() => agentRollbackCommand({ to: 'latest' }), /Invalid supervisor tag/);
    assert.throws(() => agentStopCommand({ lockWaitSeconds: -1 }), /lockWaitSeconds/);
  });

  it('refuses hostile or floating tags before anything is built', () => {
    for (const tag of ['$(reboot)', 'v4.5.11; rm -rf /', '`id`', '', 'v4 .5', '../v4', 'latest', 'v4', '-v4.5.11']) {
      assert.throws(() => agentUpgradeCommand(tag), /Invalid supervisor tag/, tag);
    }
  });

  it('refuses out-of-range numbers', () => {
    assert.throws(() => agentLogsCommand({ tail: -1 }), /tail/);
    assert.throws(() => agentLogsCommand({ tail: 1.5 }), /tail/);
    assert.throws(() => agentUpgradeCommand('v4.5.11', { waitSeconds: Number.NaN }), /waitSeconds/);
  });
});

describe('parseAgentOutput', () => {
  it('returns the verb result for good output', () => {
    assert.deepEqual(parseAgentOutput('version', '{"ok":true,"agentVersion":"1.0.0"}\n'), { ok: true, agentVersion: '1.0.0' });
  });

  it('reads the adopted flag and the cancel answer', () => {
    const adopted = parseAgentOutput(
      'upgrade',
      '{"ok":true,"changed":true,"tag":"v4.5.12","previousTag":"v4.5.11","hash":"h","running":true,"downtimeSeconds":1.2,"adopted":true}',
    );
    assert.ok(adopted.ok && 'adopted' in adopted);
    assert.equal(adopted.adopted, true);
    assert.deepEqual(parseAgentOutput('stop', '{"ok":true,"adopted":true}'), { ok: true, adopted: true });
    assert.deepEqual(parseAgentOutput('cancel', '{"ok":true,"cancelled":true}'), { ok: true, cancelled: true });
    assert.deepEqual(parseAgentOutput('upgrade', '{"ok":false,"error":"cancelled","adopted":true}'), { ok: false, error: 'cancelled' });
  });

  it('reads progress lines', () => {
    assert.equal(parseAgentProgressLine('progress: pulling ghcr.io/triggerdotdev/supervisor:v4.5.12'), 'pulling ghcr.io/triggerdotdev/supervisor:v4.5.12');
    assert.equal(parseAgentProgressLine('progress: still pulling x (5s)'), 'still pulling x (5s)');
    assert.equal(parseAgentProgressLine('Pulling fs layer'), undefined);
  });

  it('passes the agent failures through', () => {
    assert.deepEqual(parseAgentOutput('upgrade', '{"ok":false,"error":"docker compose pull failed"}\n'), {
      ok: false,
      error: 'docker compose pull failed',
    });
  });

  it('turns output that is not the agent JSON into a failure that shows it', () => {
    const missing = parseAgentOutput('status', 'bash: trigger-ops-agent: command not found\n');
    assert.equal(missing.ok, false);
    assert.match((missing as { error: string }).error, /agent status: output is not JSON: bash: trigger-ops-agent: command not found/);
    assert.match((parseAgentOutput('status', '') as { error: string }).error, /\(empty\)/);
    const wrong = parseAgentOutput('prune', '{"ok":true,"reclaimedBytes":"lots"}');
    assert.equal(wrong.ok, false);
    assert.match((wrong as { error: string }).error, /agent prune: unexpected output/);
  });
});
