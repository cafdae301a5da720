import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';

/** Debian's PostgreSQL 15 server binaries (`postgresql-15`, which .ci/run installs); pg_config says where when elsewhere. */
function postgresBinDir(): string {
  const debian = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(debian, 'postgres'))) return debian;
  const found = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = found.status === 0 ? found.stdout.trim() : '';
  if (dir && existsSync(join(dir, 'postgres'))) return dir;
  throw new Error('PostgreSQL server binaries not found: install postgresql-15 (apt-get install postgresql-15)');
}

/** PostgreSQL refuses to run as root: as root, the server runs as `nobody` (its data directory is chowned to it). */
const NOBODY = 65534;
function asServerUser(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', command, ...args]];
}

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The superuser's password (scram-sha-256 auth, as a hosted PostgreSQL has): the secret tests scan for. */
  readonly password: string;
  /** Where psql, pg_dump and friends of the same major version live. */
  readonly binDir: string;
  /** A connection URL (password included) for a database of this server. */
  url(database?: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /**
   * Runs one of the server's client tools (psql, pg_dump) against a database; resolves with its stdout. `port`
   * reaches the server another way (a latency proxy in front of it).
   */
  run(tool: 'psql' | 'pg_dump', args: readonly string[], database: string, port?: number): Promise<string>;
  /**
   * `pg_dump --schema-only --no-owner` of a database, without the `\restrict`/`\unrestrict` lines whose key pg_dump
   * draws at random on every run (15.14+): two dumps of equal schemas are equal text.
   */
  schemaDump(database: string, extraArgs?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL 15 server for one test file: initdb into a temp dir, the server on 127.0.0.1 at a free port
 * (its socket in the same dir), durability off (fsync, synchronous_commit: nothing here outlives the run), and a clean
 * fast shutdown that removes the dir. Tests of a file share it and each takes a database of its own.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const binDir = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const user = 'postgres';
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    chownSync(dir, NOBODY, NOBODY);
    chownSync(pwfile, NOBODY, NOBODY);
  }
  const [initCmd, initArgs] = asServerUser(join(binDir, 'initdb'), [
    '-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync',
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', cwd: dir });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  rmSync(pwfile);
  const port = await freePort();
  const host = '127.0.0.1';
  const [cmd, args] = asServerUser(join(binDir, 'postgres'), [
    '-D', data, '-p', String(port),
    '-c', `listen_addresses=${host}`, '-c', `unix_socket_directories=${dir}`,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50',
  ]);
  const server: ChildProcess = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = (database = 'postgres') =>
    `postgresql://${user}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new Client({ connectionString: url() });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (server.exitCode !== null || Date.now() > deadline) {
        server.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${String(err)}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  let databases = 0;
  const pg: TestPostgres = {
    host,
    port,
    user,
    password,
    binDir,
    url,
    async createDatabase(prefix = 'db') {
      const name = `${prefix}_${process.pid}_${++databases}`;
      const admin = new Client({ connectionString: url() });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    run(tool, toolArgs, database, viaPort = port) {
      return new Promise((resolve, reject) => {
        const child = spawn(join(binDir, tool), ['-h', host, '-p', String(viaPort), '-U', user, ...toolArgs, database], {
          env: { PATH: process.env['PATH'] ?? '', PGPASSWORD: password },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${tool} ${toolArgs.join(' ')} exited ${code}: ${err}`))));
      });
    },
    async schemaDump(database, extraArgs = []) {
      const dump = await pg.run('pg_dump', ['--schema-only', '--no-owner', ...extraArgs], database);
      return dump.split('\n').filter((line) => !/^\\(un)?restrict /.test(line)).join('\n');
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        // SIGINT is PostgreSQL's fast shutdown: sessions are ended, the server exits cleanly.
        server.kill('SIGINT');
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pg;
}

/**
 * Applies a chain the way the original ops-controller applied its baseline: one `psql -f` process per migration
 * file, in name order, stopping at the first error (ON_ERROR_STOP). psql sends each statement on its own, in
 * autocommit, so a file's statements are not one transaction as under Prisma; on a chain that applies cleanly the
 * resulting schema is the same. Records nothing in `_prisma_migrations`.
 */
export async function applyWithPsqlPerFile(pg: TestPostgres, database: string, files: readonly string[], port = pg.port): Promise<void> {
  for (const file of files) await pg.run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], database, port);
}
