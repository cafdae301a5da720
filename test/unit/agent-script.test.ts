// Runs the real agent script (src/remote/agent.sh) with bash under a temporary TRIGGER_OPS_ROOT, with minimal
// stand-ins for docker, df and cloud-init on PATH. These stand-ins exercise the script's own logic (files, hashes,
// JSON, order of operations); the full droplet simulation lives in the sandbox.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
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
  type AgentCommand,
  type AgentVerb,
} from '../../src/remote/agent-commands';
import { SANDBOX_SUPERVISOR_IMAGE } from '../../sandbox/contracts';
import { releaseTags } from '../../sandbox/registry';
import { agentScriptVersion, readAgentScript } from '../../src/remote/agent-script';
import {
  buildSupervisorCompose,
  buildSupervisorEnv,
  configHash,
  SUPERVISOR_CONTAINER,
  type SupervisorEnvInput,
} from '../../src/remote/compose';
import { waitFor } from '../helpers/wait';

const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
# Test stand-in for docker: state in $FAKE_STATE, every call appended to $FAKE_STATE/calls.
set -euo pipefail
S=$FAKE_STATE
printf '%s\n' "$*" >>"$S/calls"
if [[ -e $S/daemon-down ]]; then
  echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
  exit 1
fi
now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
set_container() { printf 'image=%s\nstatus=%s\nstarted=%s\nrestarts=%s\n' "$1" "$2" "$3" "$4" >"$S/container"; }
get() { sed -n "s/^$1=//p" "$S/container"; }
case $1 in
  info) echo '{"ServerVersion":"27.3.1","Containers":1}' ;;
  compose)
    shift
    while [[ $1 == --* || $1 == -f ]]; do
      case $1 in
        --env-file) envf=$2 ;;
      esac
      shift 2
    done
    tag=$(sed -n 's/^TRIGGER_IMAGE_TAG=//p' "$envf")
    image="ghcr.io/triggerdotdev/supervisor:$tag"
    case $1 in
      pull)
        if ! grep -qx "$tag" "$S/known-tags"; then
          echo "Error response from daemon: manifest unknown" >&2
          exit 1
        fi
        if [[ -e $S/pull-delay ]]; then
          echo $$ >>"$S/pull-pids"
          sleep "$(cat "$S/pull-delay")"
        fi
        echo "$image" >>"$S/images"
        echo "pulled $tag" >>"$S/calls"
        ;;
      up)
        if [[ ! -e $S/container || $(get image) != "$image" || $(get status) != running ]]; then
          sleep 0.1
          set_container "$image" running "$(now)" 0
        fi
        ;;
      restart) set_container "$(get image)" running "$(now)" "$(get restarts)" ;;
      stop) [[ ! -e $S/container ]] || set_container "$(get image)" exited "$(get started)" "$(get restarts)" ;;
      *) echo "fake docker: unsupported compose $*" >&2; exit 3 ;;
    esac
    ;;
  inspect)
    if [[ ! -e $S/container ]]; then
      echo "Error: No such object: $2" >&2
      exit 1
    fi
    running=false; [[ $(get status) == running ]] && running=true
    if [[ -e $S/compact-inspect ]]; then
      printf '[{"Id":"abc","Image":"sha256:0123","Name":"/%s","RestartCount":%s,"Config":{"Image":"%s","Env":["A=\"Status\": \"x\""]},"State":{"Status":"%s","Running":%s,"Restarting":false,"ExitCode":0,"StartedAt":"%s","FinishedAt":"0001-01-01T00:00:00Z","Health":{"Status":"starting","FailingStreak":0,"Log":[]}}}]\n' \
        "$2" "$(get restarts)" "$(get image)" "$(get status)" "$running" "$(get started)"
    else
      cat <<JSON
[
    {
        "Id": "4f1c0e",
        "Created": "2026-08-21T10:00:00.000000000Z",
        "State": {
            "Status": "$(get status)",
            "Running": $running,
            "Restarting": false,
            "ExitCode": 0,
            "StartedAt": "$(get started)",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": {
                "Status": "healthy",
                "FailingStreak": 0,
                "Log": [
                    {
                        "Start": "2026-08-21T10:00:30Z",
                        "ExitCode": 0,
                        "Output": ""
                    }
                ]
            }
        },
        "Image": "sha256:9b1f",
        "Name": "/$2",
        "RestartCount": $(get restarts),
        "Config": {
            "Image": "$(get image)",
            "Env": [
                "TRIGGER_WORKER_INSTANCE_NAME=tops-test"
            ]
        }
    }
]
JSON
    fi
    ;;
  logs) cat "$S/logs" 2>/dev/null || true ;;
  container) echo 'Deleted Containers:'; echo 'abc123'; echo; echo 'Total reclaimed space: 1.5kB' ;;
  image) echo 'Deleted Images:'; echo 'untagged: old'; echo; echo 'Total reclaimed space: 2.1GB' ;;
  *) echo "fake docker: unsupported $*" >&2; exit 3 ;;
esac
`;

const FAKE_DF = `#!/usr/bin/env bash
echo 'Filesystem     1024-blocks     Used Available Capacity Mounted on'
echo "/dev/vda1         50000000 20000000  30000000      40% /"
`;

const FAKE_CLOUD_INIT = `#!/usr/bin/env bash
if [[ -e $FAKE_STATE/cloud-init-delay ]]; then sleep "$(cat "$FAKE_STATE/cloud-init-delay")"; fi
if [[ -e $FAKE_STATE/cloud-init-error ]]; then
  cat <<'JSON'
{
 "errors": ["('scripts_user', RuntimeError('runparts: 1 failed'))"],
 "extended_status": "error",
 "status": "error"
}
JSON
  exit 1
fi
printf '{\\n "errors": [],\\n "extended_status": "done",\\n "status": "done"\\n}\\n'
`;

const ENV_INPUT: SupervisorEnvInput = {
  imageTag: 'v4.5.11',
  apiUrl: 'https://trigger.example.com',
  workerToken: 'tr_wgt_0123456789abcdefghijABCDEFGHIJ0123456789',
  managedWorkerSecret: '9f86d081884c7d659a2feaa0c55ad015',
  workerInstanceName: 'tops-test-g1',
  workloadTokenSecret: '0f'.repeat(32),
  dockerApiVersion: '1.47',
  capacity: { vcpus: 2, memoryMb: 4096 },
  registry: { url: 'registry.digitalocean.com', username: 'ops', password: "p@ss w0rd $HOME \"x\"" },
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown>;
}

describe('agent.sh', () => {
  let dir: string;
  let root: string;
  let state: string;
  let bin: string;
  const compose = buildSupervisorCompose();
  const env = buildSupervisorEnv(ENV_INPUT);
  const supDir = () => join(root, 'opt/trigger-ops/supervisor');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-sh-'));
    root = join(dir, 'droplet root');
    state = join(dir, 'fake');
    bin = join(dir, 'bin');
    for (const d of [root, state, bin, join(root, 'usr/local/bin')]) mkdirSync(d, { recursive: true });
    const install = (path: string, content: string) => {
      writeFileSync(path, content);
      chmodSync(path, 0o755);
    };
    install(join(bin, 'docker'), FAKE_DOCKER);
    install(join(bin, 'df'), FAKE_DF);
    install(join(bin, 'cloud-init'), FAKE_CLOUD_INIT);
    // Where cloud-init puts it in the sandbox: the droplet's own /usr/local/bin, on PATH after the stand-ins.
    install(join(root, 'usr/local/bin/trigger-ops-agent'), readAgentScript());
    // The fake docker pulls what the real registry has (the vendored list); anything else is a missing manifest.
    writeFileSync(join(state, 'known-tags'), `${releaseTags(SANDBOX_SUPERVISOR_IMAGE).join('\n')}\n`);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const agentEnv = () => ({
    PATH: `${bin}:${join(root, 'usr/local/bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    TRIGGER_OPS_ROOT: root,
    FAKE_STATE: state,
    HOME: dir,
  });

  function answer(code: number | null, stdout: string, stderr: string): Run {
    const lines = stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `exactly one stdout line expected, got: ${stdout}\nstderr: ${stderr}`);
    return { code: code ?? -1, stdout, stderr, json: JSON.parse(lines[0]!) as Record<string, unknown> };
  }

  function run(cmd: AgentCommand): Run {
    const res = spawnSync('bash', ['-c', cmd.command], { input: cmd.stdin ?? '', encoding: 'utf8', env: agentEnv() });
    return answer(res.status, res.stdout, res.stderr);
  }

  /** Starts a command without waiting: its stderr so far, and its answer once it exits (all its output closed). */
  function start(cmd: AgentCommand): { readonly stderr: () => string; readonly done: Promise<Run> } {
    const child = spawn('bash', ['-c', cmd.command], { env: agentEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdin.end(cmd.stdin ?? '');
    const done = new Promise<Run>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        try {
          resolve(answer(code, stdout, stderr));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    return { stderr: () => stderr, done };
  }

  const saying = (r: { stderr: () => string }, pattern: RegExp) =>
    waitFor(`stderr matching ${pattern}`, () => (pattern.test(r.stderr()) ? true : undefined), 15_000);

  function runVerb<V extends AgentVerb>(verb: V, cmd: AgentCommand) {
    const r = run(cmd);
    return { ...r, out: parseAgentOutput(verb, r.stdout) };
  }

  const calls = () => readFileSync(join(state, 'calls'), 'utf8').split('\n').filter(Boolean);
  const resetCalls = () => writeFileSync(join(state, 'calls'), '');
  const daemon = (up: boolean) => (up ? rmSync(join(state, 'daemon-down'), { force: true }) : writeFileSync(join(state, 'daemon-down'), ''));

  it('version prints the script AGENT_VERSION', () => {
    const { code, out } = runVerb('version', agentVersionCommand());
    assert.equal(code, 0);
    assert.deepEqual(out, { ok: true, agentVersion: agentScriptVersion(readAgentScript()) });
  });

  it('status before anything is applied reports no config and no container', () => {
    const { code, out } = runVerb('status', agentStatusCommand());
    assert.equal(code, 0);
    assert.ok(out.ok && 'config' in out);
    assert.equal(out.config.applied, false);
    assert.equal(out.supervisor?.exists, false);
    assert.equal(out.cloudInit.status, 'done');
    assert.deepEqual(out.disk, { path: `${root}/`, totalBytes: 51200000000, availableBytes: 30720000000, freePercent: 60 });
  });

  it('apply writes .env (0600) and compose from stdin/argv, pulls before up, and reports the configHash', () => {
    resetCalls();
    const { code, out } = runVerb('apply', agentApplyCommand({ env, compose }));
    assert.equal(code, 0, JSON.stringify(out));
    assert.deepEqual(out, { ok: true, changed: true, started: true, hash: configHash(compose, env), tag: 'v4.5.11', previousTag: null });
    assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), env);
    assert.equal(readFileSync(join(supDir(), 'compose.yaml'), 'utf8'), compose);
    assert.equal(statSync(join(supDir(), '.env')).mode & 0o777, 0o600);
    const verbs = calls().map((c) => /^compose .* (pull|up)/.exec(c)?.[1]).filter(Boolean);
    assert.deepEqual(verbs, ['pull', 'up']);
    assert.ok(!calls().some((c) => c.includes(ENV_INPUT.workerToken)), 'no secret in any docker argv');
    assert.ok(!existsSync(join(supDir(), 'previous.env')));
  });

  it('apply of the same configuration changes nothing and keeps no previous copy', () => {
    const { code, out } = runVerb('apply', agentApplyCommand({ env, compose }));
    assert.equal(code, 0);
    assert.ok(out.ok && 'changed' in out);
    assert.equal(out.changed, false);
    assert.ok(!existsSync(join(supDir(), 'previous.env')));
  });

  it('status parses and reports the running supervisor, its health, connection and config hash', () => {
    writeFileSync(
      join(state, 'logs'),
      'Starting supervisor\n{"message":"Connected to platform","type":"MANAGED","name":"bootstrap"}\n' +
        '[SupervisorSession] Failed to connect {"error":"401 \\"Invalid\\"\tworker token"}\n',
    );
    const { code, out, json } = runVerb('status', agentStatusCommand());
    assert.equal(code, 0);
    assert.ok(out.ok && 'supervisor' in out && out.supervisor);
    assert.equal(out.supervisor.name, SUPERVISOR_CONTAINER);
    assert.equal(out.supervisor.exists, true);
    assert.equal(out.supervisor.state, 'running');
    assert.equal(out.supervisor.running, true);
    assert.equal(out.supervisor.restarting, false);
    assert.equal(out.supervisor.health, 'healthy');
    assert.equal(out.supervisor.restartCount, 0);
    assert.equal(out.supervisor.image, 'ghcr.io/triggerdotdev/supervisor:v4.5.11');
    assert.equal(out.supervisor.tag, 'v4.5.11');
    assert.match(out.supervisor.startedAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(out.supervisor.connectedToPlatform, true);
    assert.equal(out.supervisor.failedToConnectRecent, 1);
    assert.equal(out.supervisor.lastFailedToConnect, '[SupervisorSession] Failed to connect {"error":"401 \\"Invalid\\"\tworker token"}');
    assert.deepEqual(out.config, {
      applied: true,
      hash: configHash(compose, env),
      tag: 'v4.5.11',
      previousTag: null,
      appliedAt: (json['config'] as { appliedAt: string }).appliedAt,
    });
    assert.match(out.config.appliedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('status reads a compact inspect without mistaking the health status for the state', () => {
    writeFileSync(join(state, 'compact-inspect'), '');
    writeFileSync(join(state, 'logs'), 'nothing yet\n');
    try {
      const { out } = runVerb('status', agentStatusCommand());
      assert.ok(out.ok && 'supervisor' in out && out.supervisor);
      assert.equal(out.supervisor.state, 'running');
      assert.equal(out.supervisor.health, 'starting');
      assert.equal(out.supervisor.tag, 'v4.5.11');
      assert.equal(out.supervisor.connectedToPlatform, false);
      assert.equal(out.supervisor.failedToConnectRecent, 0);
      assert.equal(out.supervisor.lastFailedToConnect, null);
    } finally {
      rmSync(join(state, 'compact-inspect'));
    }
  });

  it('upgrade pulls first, recreates with the new tag, keeps the previous tag and measures the gap', () => {
    resetCalls();
    const { code, out } = runVerb('upgrade', agentUpgradeCommand('v4.5.12', { waitSeconds: 10 }));
    assert.equal(code, 0, JSON.stringify(out));
    const upgradedEnv = buildSupervisorEnv({ ...ENV_INPUT, imageTag: 'v4.5.12' });
    assert.ok(out.ok && 'downtimeSeconds' in out);
    assert.equal(out.changed, true);
    assert.equal(out.tag, 'v4.5.12');
    assert.equal(out.previousTag, 'v4.5.11');
    assert.equal(out.running, true);
    assert.equal(typeof out.downtimeSeconds, 'number');
    assert.ok(out.downtimeSeconds! >= 0.1 && out.downtimeSeconds! < 10);
    // The upgraded .env is byte-for-byte what the controller would build for the new tag: no false drift.
    assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), upgradedEnv);
    assert.equal(out.hash, configHash(compose, upgradedEnv));
    assert.equal(readFileSync(join(supDir(), 'previous.env'), 'utf8'), env);
    assert.equal(statSync(join(supDir(), 'previous.env')).mode & 0o777, 0o600);
    const order = calls().map((c) => /^compose .* (pull|up)/.exec(c)?.[1]).filter(Boolean);
    assert.deepEqual(order, ['pull', 'up']);
    const status = parseAgentOutput('status', run(agentStatusCommand()).stdout);
    assert.ok('supervisor' in status && status.supervisor);
    assert.equal(status.supervisor.tag, 'v4.5.12');
    assert.equal(status.config.previousTag, 'v4.5.11');
  });

  it('upgrade to the tag already running is a no-op', () => {
    resetCalls();
    const { code, out } = runVerb('upgrade', agentUpgradeCommand('v4.5.12'));
    assert.equal(code, 0);
    assert.ok(out.ok && 'changed' in out);
    assert.equal(out.changed, false);
    assert.equal(out.previousTag, 'v4.5.11');
    assert.ok(!calls().some((c) => / pull/.test(c)));
  });

  it('upgrade to a tag the registry lacks fails before touching anything', () => {
    const before = readFileSync(join(supDir(), '.env'), 'utf8');
    const { code, out } = runVerb('upgrade', agentUpgradeCommand('v9.9.9'));
    assert.equal(code, 1);
    assert.equal(out.ok, false);
    assert.match((out as { error: string }).error, /pull failed, nothing changed: .*manifest unknown/);
    assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), before);
    assert.equal(readFileSync(join(supDir(), 'previous.env'), 'utf8'), env);
  });

  it('upgrade refuses a hostile tag even when called directly, and nothing runs', () => {
    const marker = join(dir, 'pwned');
    const { code, json } = run({ command: `trigger-ops-agent upgrade '$(touch ${marker})'` });
    assert.equal(code, 2);
    assert.equal(json['ok'], false);
    assert.match(String(json['error']), /invalid image tag/);
    assert.ok(!existsSync(marker));
  });

  it('rollback restores the previous tag and keeps the upgraded one as its previous', () => {
    const { code, out } = runVerb('rollback', agentRollbackCommand({ waitSeconds: 10 }));
    assert.equal(code, 0, JSON.stringify(out));
    assert.ok(out.ok && 'tag' in out);
    assert.equal(out.tag, 'v4.5.11');
    assert.equal(out.previousTag, 'v4.5.12');
    assert.equal(out.running, true);
    assert.equal(out.hash, configHash(compose, env));
    assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), env);
    const status = parseAgentOutput('status', run(agentStatusCommand()).stdout);
    assert.ok('supervisor' in status && status.supervisor);
    assert.equal(status.supervisor.tag, 'v4.5.11');
  });

  it('restart and stop act on the compose project', () => {
    resetCalls();
    assert.deepEqual(runVerb('restart', agentRestartCommand()).out, { ok: true });
    assert.ok(calls().some((c) => /^compose .* restart supervisor$/.test(c)));
    assert.deepEqual(runVerb('stop', agentStopCommand()).out, { ok: true });
    const status = parseAgentOutput('status', run(agentStatusCommand()).stdout);
    assert.ok('supervisor' in status && status.supervisor);
    assert.equal(status.supervisor.running, false);
    assert.equal(status.supervisor.state, 'exited');
  });

  it('logs returns hostile log text intact inside valid JSON', () => {
    const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
    const text = `line "one" \\ back\\slash\n\ttab\r${controls}\u001b[31mred\u001b[0m é ✓ $(x) \`y\` \u007f\n`;
    writeFileSync(join(state, 'logs'), text);
    const { code, out } = runVerb('logs', agentLogsCommand({ tail: 50 }));
    assert.equal(code, 0);
    assert.deepEqual(out, { ok: true, container: SUPERVISOR_CONTAINER, tail: 50, log: text.replace(/\n$/, '') });
    assert.ok(calls().some((c) => c === `logs --tail 50 ${SUPERVISOR_CONTAINER}`));
  });

  it('prune removes exited containers and unused images and reports bytes reclaimed', () => {
    resetCalls();
    const { code, out } = runVerb('prune', agentPruneCommand());
    assert.equal(code, 0);
    assert.deepEqual(out, { ok: true, containersReclaimedBytes: 1500, imagesReclaimedBytes: 2100000000, reclaimedBytes: 2100001500 });
    assert.deepEqual(calls(), ['info --format {{json .}}', 'container prune -f', 'image prune -af']);
  });

  it('wait-cloud-init reports done, and an error with its detail', () => {
    assert.deepEqual(runVerb('wait-cloud-init', agentWaitCloudInitCommand({ timeoutSeconds: 5 })).out, {
      ok: true,
      cloudInit: { status: 'done' },
    });
    writeFileSync(join(state, 'cloud-init-error'), '');
    try {
      const { code, out } = runVerb('wait-cloud-init', agentWaitCloudInitCommand());
      assert.equal(code, 1);
      assert.equal(out.ok, false);
      assert.match((out as { error: string }).error, /status error: .*runparts: 1 failed/);
    } finally {
      rmSync(join(state, 'cloud-init-error'));
    }
  });

  it('a docker daemon that is down gives ok:false with a clear error, and status still reports the rest', () => {
    daemon(false);
    try {
      const status = runVerb('status', agentStatusCommand());
      assert.equal(status.code, 1);
      assert.ok('docker' in status.out);
      assert.equal(status.out.ok, false);
      assert.match(status.out.error ?? '', /^docker daemon is not running: Cannot connect to the Docker daemon/);
      assert.equal(status.out.docker.running, false);
      assert.equal(status.out.supervisor, null);
      assert.equal(status.out.config.hash, configHash(compose, env));
      assert.equal(status.out.disk?.freePercent, 60);

      for (const [verb, cmd] of [
        ['apply', agentApplyCommand({ env: buildSupervisorEnv({ ...ENV_INPUT, imageTag: 'v4.5.10' }), compose })],
        ['upgrade', agentUpgradeCommand('v4.5.10')],
        ['restart', agentRestartCommand()],
        ['prune', agentPruneCommand()],
      ] as const) {
        const r = runVerb(verb, cmd);
        assert.equal(r.code, 1, verb);
        assert.deepEqual(Object.keys(r.json).sort(), ['error', 'ok'], verb);
        assert.match((r.out as { error: string }).error, /^docker daemon is not running: Cannot connect/, verb);
      }
      assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), env, 'a failed apply leaves the config alone');
    } finally {
      daemon(true);
    }
  });

  it('apply --no-start only writes the files, without docker', () => {
    daemon(false);
    try {
      const next = buildSupervisorEnv({ ...ENV_INPUT, imageTag: 'v4.5.10' });
      const { code, out } = runVerb('apply', agentApplyCommand({ env: next, compose, start: false }));
      assert.equal(code, 0, JSON.stringify(out));
      assert.ok(out.ok && 'started' in out);
      assert.equal(out.started, false);
      assert.equal(out.previousTag, 'v4.5.11');
      assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), next);
    } finally {
      daemon(true);
    }
  });

  it('usage errors are JSON with exit code 2', () => {
    for (const command of ['trigger-ops-agent', 'trigger-ops-agent frobnicate', 'trigger-ops-agent logs --tail lots']) {
      const r = run({ command });
      assert.equal(r.code, 2, command);
      assert.equal(r.json['ok'], false);
      assert.match(String(r.json['error']), /usage: trigger-ops-agent/);
    }
    const noTag = run(agentApplyCommand({ env: 'FOO=bar\n', compose }));
    assert.equal(noTag.code, 2);
    assert.match(String(noTag.json['error']), /no valid TRIGGER_IMAGE_TAG/);
    const noStdin = run({ command: agentApplyCommand({ env, compose }).command });
    assert.equal(noStdin.code, 2);
    assert.match(String(noStdin.json['error']), /stdin was empty/);
  });

  describe('operations: lock, detached runs, adoption, cancel', () => {
    const opsDir = () => join(root, 'opt/trigger-ops/ops');
    const pullDelay = (seconds: number | undefined) =>
      seconds === undefined ? rmSync(join(state, 'pull-delay'), { force: true }) : writeFileSync(join(state, 'pull-delay'), String(seconds));
    const lastPullPid = () => Number(readFileSync(join(state, 'pull-pids'), 'utf8').trim().split('\n').at(-1));
    /** Running, not merely a zombie waiting for a parent that does not reap (as PID 1 in some containers). */
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const envTag = () => /^TRIGGER_IMAGE_TAG=(.*)$/m.exec(readFileSync(join(supDir(), '.env'), 'utf8'))?.[1];
    const withoutAdopted = (json: Record<string, unknown>) => Object.fromEntries(Object.entries(json).filter(([k]) => k !== 'adopted'));
    const pullsAndUps = () => calls().map((c) => /^compose .* (pull|up)/.exec(c)?.[1] ?? /^(pulled) /.exec(c)?.[1]).filter(Boolean);

    before(() => {
      const applied = run(agentApplyCommand({ env, compose }));
      assert.equal(applied.code, 0, applied.stdout);
      assert.equal(envTag(), 'v4.5.11');
    });

    afterEach(() => pullDelay(undefined));

    it('relays each step as a progress line, and a retry while the run goes on waits for it and adopts its answer', async () => {
      resetCalls();
      pullDelay(5.5);
      const cmd = agentUpgradeCommand('v4.5.12', { waitSeconds: 10, op: 'upgrade-1' });
      const first = start(cmd);
      await saying(first, /^progress: pulling ghcr\.io\/triggerdotdev\/supervisor:v4\.5\.12$/m);
      // The retry (same operation id) arrives while the first run is still pulling.
      const retry = start(cmd);
      const [a, b] = await Promise.all([first.done, retry.done]);
      assert.equal(a.code, 0, a.stdout + a.stderr);
      assert.equal(b.code, 0, b.stdout + b.stderr);
      const out = parseAgentOutput('upgrade', a.stdout);
      assert.ok(out.ok && 'downtimeSeconds' in out);
      assert.deepEqual([out.changed, out.tag, out.previousTag, out.running, out.adopted], [true, 'v4.5.12', 'v4.5.11', true, undefined]);
      assert.equal(typeof out.downtimeSeconds, 'number');
      // The retry reports the same run: changed, with its downtime, not "already running".
      assert.deepEqual(b.json, { ...a.json, adopted: true });
      assert.match(b.stderr, /^progress: joining operation upgrade-1, already running$/m);
      assert.match(a.stderr, /^progress: still pulling ghcr\.io\/triggerdotdev\/supervisor:v4\.5\.12 \([5-9]s\)$/m);
      for (const r of [a, b]) {
        assert.match(r.stderr, /^progress: recreating the supervisor with v4\.5\.12$/m);
        assert.match(r.stderr, /^progress: waiting for the container to run v4\.5\.12$/m);
      }
      assert.deepEqual(pullsAndUps(), ['pull', 'pulled', 'up'], 'one run, not two');

      // Long after, the same id still gets the recorded answer, and nothing runs.
      resetCalls();
      const later = run(cmd);
      assert.equal(later.code, 0);
      assert.deepEqual(later.json, { ...a.json, adopted: true });
      assert.deepEqual(calls(), []);
      assert.ok(existsSync(join(opsDir(), 'upgrade-1.json')));
      assert.ok(!existsSync(join(opsDir(), 'upgrade-1.pid')), 'no pid record once the run is over');
    });

    it('serialises different operations on the lock, and a lock wait that runs out is run again on retry', async () => {
      resetCalls();
      pullDelay(1.5);
      const rollback = start(agentRollbackCommand({ to: 'v4.5.11', waitSeconds: 10, op: 'rollback-1' }));
      await saying(rollback, /^progress: pulling /m);
      const upgrade = start(agentUpgradeCommand('v4.5.10', { waitSeconds: 10, op: 'upgrade-2' }));
      const impatient = agentUpgradeCommand('v4.5.10', { waitSeconds: 10, op: 'upgrade-3', lockWaitSeconds: 0 });
      const gaveUp = await start(impatient).done;
      assert.equal(gaveUp.code, 1);
      assert.match(String(gaveUp.json['error']), /still held the agent lock after 0s; nothing was changed/);
      const [r, u] = await Promise.all([rollback.done, upgrade.done]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.match(u.stderr, /^progress: waiting for the lock \(held by operation rollback-1\)$/m);
      assert.deepEqual([r.json['changed'], r.json['tag'], r.json['previousTag']], [true, 'v4.5.11', 'v4.5.12']);
      assert.deepEqual([u.json['changed'], u.json['tag'], u.json['previousTag']], [true, 'v4.5.10', 'v4.5.11']);
      // One after the other: the second pull started after the first run had recreated the container.
      assert.deepEqual(pullsAndUps(), ['pull', 'pulled', 'up', 'pull', 'pulled', 'up']);
      assert.equal(envTag(), 'v4.5.10');

      // The run that gave up changed nothing: its retry runs (now with nothing left to do) rather than adopting that.
      const retried = run({ command: impatient.command.replace(' --lock-wait 0', '') });
      assert.equal(retried.code, 0, retried.stdout);
      assert.deepEqual([retried.json['changed'], retried.json['tag'], retried.json['adopted']], [false, 'v4.5.10', undefined]);
    });

    it('rollback --to goes to the named version, and once there a retry changes nothing', () => {
      resetCalls();
      const back = run(agentRollbackCommand({ to: 'v4.5.11', waitSeconds: 10, op: 'rollback-2' }));
      assert.equal(back.code, 0, back.stdout);
      assert.deepEqual([back.json['changed'], back.json['tag'], back.json['previousTag'], back.json['running']], [true, 'v4.5.11', 'v4.5.10', true]);
      assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), env);
      // A retry that lost its record (a new id): v4.5.11 runs already, so the version it left is not put back.
      resetCalls();
      const again = run(agentRollbackCommand({ to: 'v4.5.11', waitSeconds: 10, op: 'rollback-3' }));
      assert.equal(again.code, 0, again.stdout);
      assert.deepEqual([again.json['changed'], again.json['tag'], again.json['downtimeSeconds']], [false, 'v4.5.11', null]);
      assert.ok(!calls().some((c) => / pull/.test(c)));
      assert.equal(envTag(), 'v4.5.11');
      // A version that is neither current nor previous: the current configuration with that tag.
      const older = run(agentRollbackCommand({ to: 'v4.5.9', waitSeconds: 10 }));
      assert.equal(older.code, 0, older.stdout);
      assert.deepEqual([older.json['tag'], older.json['previousTag']], ['v4.5.9', 'v4.5.11']);
      assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), buildSupervisorEnv({ ...ENV_INPUT, imageTag: 'v4.5.9' }));
      const status = parseAgentOutput('status', run(agentStatusCommand()).stdout);
      assert.ok('supervisor' in status && status.supervisor);
      assert.equal(status.supervisor.tag, 'v4.5.9');
    });

    it('cancel stops a run that is still pulling (its docker pull too) and records it as cancelled', async () => {
      pullDelay(30);
      const before = readFileSync(join(supDir(), '.env'), 'utf8');
      const cmd = agentUpgradeCommand('v4.5.12', { waitSeconds: 10, op: 'upgrade-4' });
      const upgrade = start(cmd);
      await saying(upgrade, /^progress: pulling /m);
      const pullPid = await waitFor('the pull', () => (existsSync(join(state, 'pull-pids')) ? lastPullPid() : undefined));
      const t0 = Date.now();
      const cancel = runVerb('cancel', agentCancelCommand('upgrade-4'));
      assert.equal(cancel.code, 0, cancel.stdout);
      assert.deepEqual(cancel.out, { ok: true, cancelled: true });
      assert.ok(Date.now() - t0 < 10_000);
      const cancelled = await upgrade.done;
      assert.equal(cancelled.code, 1);
      assert.deepEqual(cancelled.json, { ok: false, error: 'cancelled' });
      assert.equal(alive(pullPid), false, 'the docker pull it started is gone too');
      assert.equal(readFileSync(join(supDir(), '.env'), 'utf8'), before);
      assert.ok(!existsSync(join(supDir(), '.staging')));
      // Nothing to stop any more, nor for an id never seen.
      assert.deepEqual(runVerb('cancel', agentCancelCommand('upgrade-4')).out, { ok: true, cancelled: false });
      assert.deepEqual(runVerb('cancel', agentCancelCommand('never-started')).out, { ok: true, cancelled: false });
      // Run again under the same id, it does the work (a cancelled run is not an answer to adopt).
      pullDelay(undefined);
      const again = run(cmd);
      assert.equal(again.code, 0, again.stdout);
      assert.deepEqual([again.json['changed'], again.json['tag'], again.json['adopted']], [true, 'v4.5.12', undefined]);
    });

    it('a permanent failure is an answer a retry adopts; a stopped daemon is not', () => {
      resetCalls();
      const cmd = agentUpgradeCommand('v9.9.9', { op: 'upgrade-5' });
      const failed = run(cmd);
      assert.equal(failed.code, 1);
      assert.match(String(failed.json['error']), /manifest unknown/);
      const adopted = run(cmd);
      assert.equal(adopted.code, 1);
      assert.deepEqual(adopted.json, { ...failed.json, adopted: true });
      assert.equal(calls().filter((c) => / pull$/.test(c)).length, 1);

      daemon(false);
      const down = run(agentUpgradeCommand('v4.5.11', { waitSeconds: 10, op: 'upgrade-6' }));
      daemon(true);
      assert.equal(down.code, 1);
      assert.match(String(down.json['error']), /^docker daemon is not running/);
      const up = run(agentUpgradeCommand('v4.5.11', { waitSeconds: 10, op: 'upgrade-6' }));
      assert.equal(up.code, 0, up.stdout);
      assert.deepEqual([withoutAdopted(up.json)['changed'], up.json['tag'], up.json['adopted']], [true, 'v4.5.11', undefined]);
    });

    it('a failed or stopped apply leaves no file holding the new secrets', async () => {
      const secret = 'tr_wgt_SECRETthatMustNotStayOnDisk0123456789';
      const secretEnv = (imageTag: string) => buildSupervisorEnv({ ...ENV_INPUT, imageTag, workerToken: secret });
      const holdingSecret = () => {
        const found: string[] = [];
        const walk = (d: string) => {
          for (const e of readdirSync(d, { withFileTypes: true })) {
            const path = join(d, e.name);
            if (e.isDirectory()) walk(path);
            else if (e.isFile() && readFileSync(path, 'utf8').includes(secret)) found.push(path);
          }
        };
        walk(root);
        return found;
      };

      const unknown = run(agentApplyCommand({ env: secretEnv('v9.9.9'), compose, op: 'apply-1' }));
      assert.equal(unknown.code, 1);
      assert.match(String(unknown.json['error']), /pull failed, nothing changed: .*manifest unknown/);
      assert.deepEqual(holdingSecret(), []);

      pullDelay(30);
      const stopped = start(agentApplyCommand({ env: secretEnv('v4.5.10'), compose, op: 'apply-2' }));
      await saying(stopped, /^progress: pulling /m);
      assert.deepEqual(runVerb('cancel', agentCancelCommand('apply-2')).out, { ok: true, cancelled: true });
      assert.deepEqual((await stopped.done).json, { ok: false, error: 'cancelled' });
      assert.deepEqual(holdingSecret(), []);

      // Even a run killed outright (SIGKILL, no trap runs) leaves its copies only until the next run takes the lock.
      const killed = start(agentApplyCommand({ env: secretEnv('v4.5.10'), compose, op: 'apply-3' }));
      await saying(killed, /^progress: pulling /m);
      assert.ok(holdingSecret().some((p) => p.includes('/.staging/')));
      const [pid] = readFileSync(join(opsDir(), 'apply-3.pid'), 'utf8').split(' ');
      process.kill(-Number(pid), 'SIGKILL');
      const orphaned = await killed.done;
      assert.equal(orphaned.code, 1);
      assert.match(String(orphaned.json['error']), /run of operation apply-3 ended without an answer/);
      pullDelay(undefined);
      assert.equal(run(agentPruneCommand()).code, 0);
      assert.deepEqual(holdingSecret(), []);
    });

    it('refuses bad operation ids, and one id for two different commands', () => {
      for (const command of ['trigger-ops-agent upgrade v4.5.11 --op "a b"', 'trigger-ops-agent stop --op', 'trigger-ops-agent cancel', "trigger-ops-agent cancel '../x'"]) {
        const r = run({ command });
        assert.equal(r.code, 2, command);
        assert.match(String(r.json['error']), /usage: trigger-ops-agent/, command);
      }
      const reused = run(agentUpgradeCommand('v4.5.10', { op: 'upgrade-1' }));
      assert.equal(reused.code, 2);
      assert.match(String(reused.json['error']), /operation id upgrade-1 was used for 'upgrade v4\.5\.12', not 'upgrade v4\.5\.10'/);
    });

    it('wait-cloud-init says it is still waiting every 5 seconds', () => {
      writeFileSync(join(state, 'cloud-init-delay'), '5.6');
      try {
        const r = run(agentWaitCloudInitCommand({ timeoutSeconds: 30 }));
        assert.equal(r.code, 0, r.stdout);
        assert.deepEqual(r.json, { ok: true, cloudInit: { status: 'done' } });
        assert.match(r.stderr, /^progress: waiting for cloud-init\nprogress: still waiting for cloud-init \(5s\)\n/m);
      } finally {
        rmSync(join(state, 'cloud-init-delay'));
      }
    });
  });
});
