// shellcheck on the droplet agent. CI installs shellcheck from apt (package `shellcheck`); a missing binary fails
// this test rather than skipping it, so an unchecked agent can never pass CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { AGENT_SCRIPT_SOURCE, readAgentScript } from '../../src/remote/agent-script';

describe('agent.sh shellcheck', () => {
  it('is shellcheck-clean (all severities, bash dialect)', () => {
    const res = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '--format=gcc', AGENT_SCRIPT_SOURCE], {
      encoding: 'utf8',
    });
    assert.ok(
      !res.error,
      `shellcheck could not run (${res.error?.message}); install it (Debian/Ubuntu: apt-get install -y shellcheck)`,
    );
    assert.equal(res.status, 0, `shellcheck findings:\n${res.stdout}${res.stderr}`);
  });

  it('is a strict-mode bash script with a version', () => {
    const script = readAgentScript();
    assert.match(script, /^#!\/usr\/bin\/env bash\n/);
    assert.match(script, /^set -euo pipefail$/m);
    assert.match(script, /^AGENT_VERSION=\d+\.\d+\.\d+$/m);
  });

  it('parses with bash -n', () => {
    const res = spawnSync('bash', ['-n', AGENT_SCRIPT_SOURCE], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
  });

  it('uses no jq and no absolute paths outside TRIGGER_OPS_ROOT', () => {
    const code = readAgentScript()
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'));
    assert.ok(!code.some((line) => /\bjq\b/.test(line)), 'jq is not guaranteed on the droplet');
    const rooted = code.filter((line) => /(^|[\s"'=])\/(opt|etc|var|usr|run|tmp)\//.test(line));
    assert.deepEqual(rooted, [], 'every path must hang off $ROOT');
  });
});
