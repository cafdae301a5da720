import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface Spawned {
  readonly child: ChildProcess;
  /** stdout and stderr as they came. */
  output(): string;
  /** stdout alone (what --json promises to keep to the result). */
  stdout(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

/** Runs the `trigger-ops` CLI exactly as a user would (bin/trigger-ops.js), with the given environment. */
export function spawnCli(args: readonly string[], env: Record<string, string>, options: { stdin?: string } = {}): Spawned {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'trigger-ops.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  else child.stdin?.end();
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => out, stdout: () => stdout, exited };
}
