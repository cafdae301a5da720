// Runs the test suite: one shared Temporal dev server for the whole run and two `node --test` runs started together,
// the main one over test/**/*.test.ts and a long one over test/realistic (real-world sandbox timings, and the ~40 s
// psql-per-file migration reference) and test/chaos (the quick chaos run): long, mostly waiting or in other
// processes, so they get their own process, slot and timeout instead of holding up the rest. Then a clean stop of
// everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { findOrInstallTemporal } from '../src/controller/temporal-cli';
import { startDevServer } from '../src/controller/temporal-dev-server';
import { freePort } from '../test/helpers/ports';

/**
 * Two test files at a time, 7 minutes per test. Node applies the same limit to each file as a whole (its process is
 * one test of the run), so it is sized for the longest file on a loaded machine (deploy.test.ts: ~200 s unloaded).
 */
const MAIN = { name: 'main', concurrency: 2, testTimeoutMs: 420_000 } as const;
/** Real-world durations (a deploy alone takes minutes) and chaos, mostly spent waiting: two files at a time, 13 minutes per test. */
const LONG = { name: 'long', concurrency: 2, testTimeoutMs: 13 * 60_000 } as const;
/** The whole run, both slots: a hang fails fast and says so instead of holding CI until its own limit. */
const WATCHDOG_MS = 14.5 * 60_000;
const LONG_DIRS = [join('test', 'realistic') + sep, join('test', 'chaos') + sep];
const isLong = (file: string) => LONG_DIRS.some((dir) => file.startsWith(dir));

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
}

interface Slot {
  readonly name: string;
  readonly concurrency: number;
  readonly testTimeoutMs: number;
}

interface RunResult {
  readonly slot: Slot;
  readonly code: number;
  /** From node's TAP summary (`# pass N`, `# fail N`, `# cancelled N`); undefined when the run died before printing it. */
  readonly pass: number | undefined;
  readonly fail: number | undefined;
  readonly cancelled: number | undefined;
  /** Every `not ok` with the lines of its diagnostic that say why (a failed hook cancels its suite's tests). */
  readonly failures: readonly string[];
}

const WHY = /^\s*(location|failureType|error):/;

/** Collects each `not ok` line of a TAP stream with the why-lines of the YAML block that follows it. */
function failureCollector(): { onLine: (line: string) => void; failures: string[] } {
  const failures: string[] = [];
  let current: string[] | undefined;
  const onLine = (line: string) => {
    const notOk = /^\s*not ok \d+ - (.*)$/.exec(line);
    if (notOk) {
      current = [`not ok - ${notOk[1]}`];
      failures.push('');
      return;
    }
    if (!current) return;
    if (/^\s*\.\.\.$/.test(line)) {
      failures[failures.length - 1] = current.join('\n');
      current = undefined;
    } else if (WHY.test(line) && current.length < 6) {
      current.push(`    ${line.trim().slice(0, 400)}`);
    }
  };
  return { onLine, failures };
}

/** Calls `onLine` for every complete line of `stream`, and for the last partial one when it ends. */
function eachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let partial = '';
  stream?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream?.on('end', () => {
    if (partial) onLine(partial);
  });
}

/**
 * One `node --test` process (its own process group, so the watchdog can stop it and every test process under it).
 * `prefix` marks each of its output lines when two runs share the terminal.
 */
function startRun(slot: Slot, files: readonly string[], root: string, env: NodeJS.ProcessEnv, prefix: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-concurrency=${slot.concurrency}`, `--test-timeout=${slot.testTimeoutMs}`, ...files],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env },
  );
  const counts: { pass?: number; fail?: number; cancelled?: number } = {};
  const collector = failureCollector();
  eachLine(child.stdout, (line) => {
    const summary = /^# (pass|fail|cancelled) (\d+)$/.exec(line);
    if (summary) counts[summary[1] as 'pass' | 'fail' | 'cancelled'] = Number(summary[2]);
    collector.onLine(line);
    process.stdout.write(`${prefix}${line}\n`);
  });
  eachLine(child.stderr, (line) => process.stderr.write(`${prefix}${line}\n`));
  const done = new Promise<RunResult>((resolve) => {
    let exitCode = 1;
    const finish = () =>
      resolve({ slot, code: exitCode, pass: counts.pass, fail: counts.fail, cancelled: counts.cancelled, failures: collector.failures.filter(Boolean) });
    // 'close' comes once its output is read to the end; a stray grandchild holding the pipe must not stall us.
    child.on('close', finish);
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 1 : 0);
      setTimeout(finish, 5_000).unref();
    });
  });
  const kill = () => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  return { done, kill };
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const root = join(__dirname, '..');
  const files = testFiles(join(root, 'test'))
    .map((f) => relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }
  const longFiles = files.filter(isLong);
  const mainFiles = files.filter((f) => !isLong(f));
  const server = await startDevServer({
    cliPath: findOrInstallTemporal({ configuredPath: process.env['TEMPORAL_CLI_PATH'] }),
    port: await freePort(),
  });
  process.stdout.write(`Temporal dev server for tests at ${server.address}\n`);
  const env = { ...process.env, TEMPORAL_TEST_ADDRESS: server.address };
  const both = mainFiles.length > 0 && longFiles.length > 0;
  try {
    const runs = [
      ...(mainFiles.length > 0 ? [startRun(MAIN, mainFiles, root, env, '')] : []),
      ...(longFiles.length > 0 ? [startRun(LONG, longFiles, root, env, both ? '[long] ' : '')] : []),
    ];
    const killAll = (why: string) => {
      process.stderr.write(`\n${why}: stopping the test processes\n`);
      for (const run of runs) run.kill();
    };
    const watchdog = setTimeout(() => killAll(`the test run exceeded ${WATCHDOG_MS / 60_000} minutes`), WATCHDOG_MS);
    const onSignal = () => killAll('interrupted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const results = await Promise.all(runs.map((r) => r.done));
    clearTimeout(watchdog);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);

    const lines = ['', ...results.flatMap((r) => [
      `${r.slot.name} run (${r.slot.testTimeoutMs / 1000} s per test and per file), exit code ${r.code}:`,
      `# pass ${r.pass ?? '?'}`,
      `# fail ${r.fail ?? '?'}`,
      `# cancelled ${r.cancelled ?? '?'}`,
      ...r.failures.map((f) => `${r.slot.name}: ${f}`),
    ])];
    const passed = results.reduce((n, r) => n + (r.pass ?? 0), 0);
    const failed = results.reduce((n, r) => n + (r.fail ?? 0), 0);
    const cancelled = results.reduce((n, r) => n + (r.cancelled ?? 0), 0);
    lines.push(`${passed} passed, ${failed} failed, ${cancelled} cancelled`, '');
    process.stdout.write(lines.join('\n'));
    return results.some((r) => r.code !== 0 || r.pass === undefined) ? 1 : 0;
  } finally {
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
