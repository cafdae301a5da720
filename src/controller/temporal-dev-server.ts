import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { canConnect } from './ports';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DevServerOptions {
  /** Absolute path of the `temporal` CLI binary. */
  readonly cliPath: string;
  /** SQLite file for durable local state; in memory when undefined. */
  readonly dbFilename?: string | undefined;
  readonly port: number;
  /** Web UI port; headless when undefined. */
  readonly uiPort?: number | undefined;
  readonly namespace?: string;
  readonly extraArgs?: readonly string[];
  readonly startupTimeoutMs?: number;
  /**
   * Its own process group, so that a Ctrl-C in the terminal reaches only us and we stop the server after our own
   * clean-up (npm start's teardown still needs it). It is killed when this process exits.
   */
  readonly detached?: boolean;
  /**
   * Records the server's pid. A server an earlier process started and left running (it was SIGKILLed, so its exit
   * handler never ran) still holds the port and the SQLite file: it is stopped before a new one starts.
   */
  readonly pidFile?: string;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string | undefined;
  /** The server's process id (what the scale bench samples for CPU). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` as a child process and waits until its frontend accepts connections.
 * The SDK's own launcher gives up after 5 s, which a busy 2-core machine can exceed; this one waits longer.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error',
    '--namespace', options.namespace ?? 'default'];
  if (options.dbFilename) {
    mkdirSync(join(options.dbFilename, '..'), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  args.push(...(options.extraArgs ?? []));

  if (options.pidFile) await stopLeftover(options.pidFile, options.dbFilename ?? options.cliPath);
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: options.detached ?? false });
  const pidFile = options.pidFile;
  if (pidFile && child.pid !== undefined) {
    writeFileSync(pidFile, `${child.pid}\n`);
    child.once('exit', () => rmSync(pidFile, { force: true }));
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${options.port}`;
  try {
    const deadline = Date.now() + (options.startupTimeoutMs ?? 60_000);
    await waitForPort('127.0.0.1', options.port, child, deadline - Date.now());
    await waitForFrontend(address, child, deadline);
  } catch (err) {
    await stopChild(child);
    const detail = stderr.trim() ? `\n${stderr.trim()}` : '';
    throw new Error(`${err instanceof Error ? err.message : String(err)}${detail}`);
  }
  return {
    address,
    uiUrl: options.uiPort === undefined ? undefined : `http://127.0.0.1:${options.uiPort}`,
    pid: child.pid,
    stop: () => stopChild(child),
  };
}

/**
 * The port opens before the frontend serves: for a moment every call answers "Frontend is not healthy yet". Ready is
 * when a client's first call (GetSystemInfo, made by connect) succeeds.
 */
async function waitForFrontend(address: string, child: ChildProcess, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode} before it was ready`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 5_000 });
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`temporal server on ${address} did not become healthy: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(200);
    }
  }
}

async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode} before it was ready`);
    if (await canConnect(host, port)) return;
    await sleep(100);
  }
  throw new Error(`temporal server did not accept connections on ${host}:${port} within ${timeoutMs} ms`);
}


/** Stops the server recorded in the pid file if it is still running with our state (and nothing else by that pid). */
async function stopLeftover(pidFile: string, marker: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const running = () => {
    try {
      return Number.isInteger(pid) && pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
    } catch {
      return false;
    }
  };
  if (running()) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && running(); i++) await sleep(100);
    if (running()) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && running(); i++) await sleep(100);
  }
  rmSync(pidFile, { force: true });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
