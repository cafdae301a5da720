import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Where the vendored chains live (scripts/vendor-trigger-migrations.ts writes them): vendor/trigger/<version>/. */
export const VENDORED_CHAINS_DIR = join(__dirname, '..', '..', '..', 'vendor', 'trigger');

/**
 * How a migration can be sent. `batch`: inside a transaction with its neighbours. `alone`: only as a query of its own,
 * exactly as Prisma sends every migration (one simple query): CREATE/DROP INDEX CONCURRENTLY, VACUUM and the like
 * refuse to run inside a transaction block or a multi-statement query, and a file with its own BEGIN/COMMIT would
 * commit the batch it sits in.
 */
export type MigrationMode = 'batch' | 'alone';

export interface ChainMigration {
  /** The migration's directory name, which is what `_prisma_migrations.migration_name` records. */
  readonly name: string;
  /** migration.sql as shipped (UTF-8, unchanged). */
  readonly script: string;
  /** SHA-256 of the file's bytes, lower-case hex: Prisma's checksum (schema-connector/src/checksum.rs). */
  readonly checksum: string;
  readonly mode: MigrationMode;
  /**
   * Enum values the migration adds (ALTER TYPE … ADD VALUE 'x'): PostgreSQL lets no later statement of the same
   * transaction use such a value ("unsafe use of new value"), where Prisma has committed after every file; a batch
   * ends before a migration that names one of them.
   */
  readonly addsEnumValues: readonly string[];
  /**
   * Whether a run of it that was cut off (Prisma killed mid-migration: a row with neither finished_at nor logs) left
   * nothing half done, so it may simply run again: a file PostgreSQL runs as one transaction, or one that only builds
   * indexes concurrently (an interrupted build leaves an INVALID index, which is dropped first) or drops them with
   * DROP INDEX CONCURRENTLY IF EXISTS.
   */
  readonly resumable: boolean;
  /** Names of the indexes it builds with CREATE INDEX CONCURRENTLY. */
  readonly concurrentIndexes: readonly string[];
}

export interface MigrationChain {
  readonly version: string;
  /** In name order, which is the order `prisma migrate deploy` applies them in (migrations_directory.rs sorts). */
  readonly migrations: readonly ChainMigration[];
}

const manifestSchema = z.object({
  version: z.string(),
  count: z.number().int(),
  migrations: z.array(z.object({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

/** Comments out, for classification only (the script itself is always sent unchanged). */
function withoutComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
}

const NOT_IN_TRANSACTION = /\b(CONCURRENTLY|VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|CREATE\s+TABLESPACE|DROP\s+TABLESPACE)\b/i;
/** A transaction statement of the file's own at the start of a statement (not the BEGIN of a DO block's body). */
const OWN_TRANSACTION = /(^|;)\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK)\s*(;|$)/i;
const ADDS_ENUM_VALUE = /\bADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?'((?:[^']|'')*)'/gi;

const CREATE_INDEX_CONCURRENTLY = /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))/gi;

const DROP_INDEX_CONCURRENTLY_IF_EXISTS = /\bDROP\s+INDEX\s+CONCURRENTLY\s+IF\s+EXISTS\b/gi;

export function classifyMigration(script: string): Pick<ChainMigration, 'mode' | 'addsEnumValues' | 'resumable' | 'concurrentIndexes'> {
  const sql = withoutComments(script);
  const ownTransaction = OWN_TRANSACTION.test(sql);
  const alone = NOT_IN_TRANSACTION.test(sql) || ownTransaction;
  const concurrentIndexes = [...sql.matchAll(CREATE_INDEX_CONCURRENTLY)].map((m) => (m[1] ? m[1].replace(/""/g, '"') : (m[2] ?? '').toLowerCase()));
  // Only concurrent index builds and drops (IF EXISTS: it runs again harmlessly) among what cannot run in a transaction.
  const onlyIndexBuilds = !ownTransaction && !NOT_IN_TRANSACTION.test(sql.replace(CREATE_INDEX_CONCURRENTLY, ' ').replace(DROP_INDEX_CONCURRENTLY_IF_EXISTS, ' '));
  return {
    mode: alone ? 'alone' : 'batch',
    addsEnumValues: [...sql.matchAll(ADDS_ENUM_VALUE)].map((m) => m[1] ?? ''),
    resumable: !alone || onlyIndexBuilds,
    concurrentIndexes,
  };
}

export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Versions whose chain is vendored, oldest first. */
export function vendoredChainVersions(dir = VENDORED_CHAINS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((v) => /^v\d+\.\d+\.\d+$/.test(v) && existsSync(join(dir, v, 'migrations.json')))
    .sort((a, b) => {
      const pa = a.slice(1).split('.').map(Number);
      const pb = b.slice(1).split('.').map(Number);
      return (pa[0]! - pb[0]!) || (pa[1]! - pb[1]!) || (pa[2]! - pb[2]!);
    });
}

const loaded = new Map<string, MigrationChain>();

/**
 * The vendored chain of a Trigger.dev release, checked against its manifest: a file that is missing, extra or not
 * byte for byte what was vendored (an editor, a git line-ending conversion) is refused, naming it.
 */
export function loadMigrationChain(version: string, dir = VENDORED_CHAINS_DIR): MigrationChain {
  const key = `${dir}\0${version}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const versions = vendoredChainVersions(dir);
  if (!versions.includes(version)) {
    throw new Error(`version: no migration chain is vendored for "${version}"; vendored: ${versions.join(', ') || 'none'}`);
  }
  const root = join(dir, version);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(root, 'migrations.json'), 'utf8')));
  const onDisk = readdirSync(join(root, 'migrations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const listed = manifest.migrations.map((m) => m.name);
  const extra = onDisk.filter((n) => !listed.includes(n));
  if (extra.length > 0 || manifest.count !== listed.length) {
    throw new Error(`the vendored ${version} chain does not match its manifest: not listed ${extra.join(', ') || '-'}`);
  }
  const migrations = [...manifest.migrations]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, sha256 }) => {
      const path = join(root, 'migrations', name, 'migration.sql');
      if (!existsSync(path)) throw new Error(`the vendored ${version} chain is missing ${name}/migration.sql`);
      const bytes = readFileSync(path);
      const checksum = checksumOf(bytes);
      if (checksum !== sha256) throw new Error(`the vendored ${version} chain's ${name}/migration.sql is not the file that was vendored`);
      const script = bytes.toString('utf8');
      return { name, script, checksum, ...classifyMigration(script) };
    });
  const chain = { version, migrations };
  loaded.set(key, chain);
  return chain;
}
