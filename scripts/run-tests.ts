// Runs the test suite: one shared Temporal dev server for the whole run, node's test runner over every
// test/**/*.test.ts file, and a clean stop of the server whatever happens.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findOrInstallTemporal } from '../src/local/temporal-cli';
import { startDevServer } from '../src/local/temporal-dev-server';
import { freePort } from '../test/helpers/ports';

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
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
  const server = await startDevServer({
    cliPath: findOrInstallTemporal({ configuredPath: process.env['TEMPORAL_CLI_PATH'] }),
    port: await freePort(),
  });
  process.stdout.write(`Temporal dev server for tests at ${server.address}\n`);
  try {
    return await new Promise<number>((resolve) => {
      // Each test may take at most 4 minutes, the whole run 12: a hang fails fast and says so, instead of
      // holding CI until its own limit.
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=240000', ...files], {
        cwd: root,
        stdio: 'inherit',
        detached: true,
        env: { ...process.env, TEMPORAL_TEST_ADDRESS: server.address },
      });
      const killAll = (why: string) => {
        process.stderr.write(`\n${why}: stopping the test processes\n`);
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const watchdog = setTimeout(() => killAll('the test run exceeded 12 minutes'), 12 * 60_000);
      const onSignal = () => killAll('interrupted');
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      child.on('exit', (code, signal) => {
        clearTimeout(watchdog);
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        resolve(code ?? (signal ? 1 : 0));
      });
    });
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
