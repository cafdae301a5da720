// Vendors a Trigger.dev release's PostgreSQL migration chain (internal-packages/database/prisma/migrations) into
// vendor/trigger/<version>/migrations, byte for byte, with a manifest (migrations.json: every migration's name and
// the SHA-256 of its migration.sql, the checksum Prisma records) and the repository's LICENSE. The applier
// (src/activities/postgres/chain.ts) refuses a vendored chain whose files no longer match the manifest.
//
// Run at vendoring time only, from a bare mirror of triggerdotdev/trigger.dev (the `fetch` of the repository) or from
// a checkout's migrations directory:
//   npx tsx scripts/vendor-trigger-migrations.ts --git-dir <trigger.dev git dir> --version v4.5.13
//   npx tsx scripts/vendor-trigger-migrations.ts --path <…/prisma/migrations> --version v4.5.12 --commit <sha> --license <LICENSE>
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const MIGRATIONS_PATH = 'internal-packages/database/prisma/migrations';
const VENDOR = join(__dirname, '..', 'vendor', 'trigger');
const VERSION = /^v\d+\.\d+\.\d+$/;

interface SourceFile {
  readonly path: string;
  readonly bytes: Buffer;
}

function git(gitDir: string, args: string[]): Buffer {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { maxBuffer: 256 * 1024 * 1024 });
}

function fromGit(gitDir: string, version: string): { files: SourceFile[]; license: Buffer; commit: string } {
  const commit = git(gitDir, ['rev-parse', `${version}^{commit}`]).toString('utf8').trim();
  const listing = git(gitDir, ['ls-tree', '-r', '--name-only', commit, `${MIGRATIONS_PATH}/`]).toString('utf8');
  const files = listing
    .split('\n')
    .filter(Boolean)
    .map((full) => ({ path: full.slice(MIGRATIONS_PATH.length + 1), bytes: git(gitDir, ['show', `${commit}:${full}`]) }));
  return { files, license: git(gitDir, ['show', `${commit}:LICENSE`]), commit };
}

function fromPath(dir: string): SourceFile[] {
  const walk = (rel: string): SourceFile[] =>
    readdirSync(join(dir, rel)).flatMap((name) => {
      const path = rel ? `${rel}/${name}` : name;
      return statSync(join(dir, path)).isDirectory() ? walk(path) : [{ path, bytes: readFileSync(join(dir, path)) }];
    });
  return walk('');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'git-dir': { type: 'string' },
      path: { type: 'string' },
      version: { type: 'string' },
      commit: { type: 'string' },
      license: { type: 'string' },
    },
  });
  const version = values.version ?? '';
  if (!VERSION.test(version)) throw new Error(`--version must be a release tag like v4.5.12, got "${version}"`);
  let source: { files: SourceFile[]; license: Buffer; commit: string; from: string };
  if (values['git-dir']) {
    source = { ...fromGit(values['git-dir'], version), from: `git tag ${version} of triggerdotdev/trigger.dev` };
  } else if (values.path && values.commit && values.license) {
    source = { files: fromPath(values.path), license: readFileSync(values.license), commit: values.commit, from: `a copy of ${MIGRATIONS_PATH} at ${version}` };
  } else {
    throw new Error('give --git-dir <trigger.dev git dir>, or --path <migrations dir> with --commit <sha> and --license <file>');
  }

  const scripts = source.files.filter((f) => /^[^/]+\/migration\.sql$/.test(f.path));
  const lock = source.files.find((f) => f.path === 'migration_lock.toml');
  if (!lock || !/provider\s*=\s*"postgresql"/.test(lock.bytes.toString('utf8'))) {
    throw new Error('migration_lock.toml is missing or not provider = "postgresql": not a Trigger.dev PostgreSQL chain');
  }
  const out = join(VENDOR, version, 'migrations');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'migration_lock.toml'), lock.bytes);
  const manifest = scripts
    .map((f) => ({ name: f.path.split('/')[0] ?? '', bytes: f.bytes }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, bytes }) => {
      mkdirSync(join(out, name));
      writeFileSync(join(out, name, 'migration.sql'), bytes);
      return { name, sha256: createHash('sha256').update(bytes).digest('hex') };
    });
  const licensePath = join(VENDOR, version, 'LICENSE');
  if (!existsSync(licensePath)) writeFileSync(licensePath, source.license);
  writeFileSync(
    join(VENDOR, version, 'migrations.json'),
    `${JSON.stringify({ version, commit: source.commit, from: source.from, path: MIGRATIONS_PATH, count: manifest.length, migrations: manifest }, null, 1)}\n`,
  );
  process.stdout.write(`vendored ${manifest.length} migrations of ${version} into ${out}\n`);
}

main();
