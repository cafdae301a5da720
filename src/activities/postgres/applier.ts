import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type DatabaseError } from 'pg';
import { BOUNDS } from '../../shared/activity-contract';
import type { ChainMigration, MigrationChain } from './chain';
import {
  CREATE_MIGRATIONS_TABLE_SQL,
  failedMigrationLogs,
  IGNORED_TABLES,
  MIGRATIONS_TABLE,
  PRISMA_MIGRATE_LOCK_KEY,
  RECORD_FAILED_SQL,
  recordFinishedOnlySql,
  recordFinishedSql,
  recordRolledBackSql,
  recordStartedSql,
} from './prisma';

/** At most this many migrations share one transaction: each holds locks on what it creates until the commit. */
const MAX_BATCH = 64;
/** How often a waiting applier asks for the advisory lock again. */
const LOCK_POLL_MS = 100;
/**
 * How often a migration sent alone is tried again after PostgreSQL aborted it as a deadlock victim: a CREATE INDEX
 * CONCURRENTLY waits for every older snapshot, so a session that blocks on Prisma's lock meanwhile (a webapp booting
 * with `prisma migrate deploy`) closes a cycle that PostgreSQL breaks by aborting the index build.
 */
const DEADLOCK_RETRIES = 5;
const DEADLOCK = '40P01';
/** Longest wait for sessions blocked on Prisma's lock to give up (Prisma's own wait is 10 s). */
const WAITERS_GONE_MS = BOUNDS.migrationWaitersGoneMs;

/** A migration of the chain failed: it is recorded as Prisma records a failed one, nothing after it ran. */
export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
  constructor(
    readonly migration: string,
    readonly code: string,
    readonly databaseError: string,
    readonly applied: number,
  ) {
    super(`migration ${migration}/migration.sql failed (PostgreSQL ${code}): ${databaseError}; ${applied} migration(s) before it were applied and recorded, nothing after it ran`);
  }
}

/** The database's history is not one this chain can continue; nothing was changed. */
export class MigrationHistoryConflictError extends Error {
  override readonly name = 'MigrationHistoryConflictError';
}

export interface HistoryRow {
  readonly id: string;
  readonly checksum: string;
  readonly migration_name: string;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly rolled_back_at: Date | null;
  readonly applied_steps_count: number;
  readonly logs: string | null;
}

export interface MigrationPlan {
  readonly version: string;
  /** `absent`: no `_prisma_migrations` yet (it is created as Prisma creates it). */
  readonly table: 'absent' | 'present';
  readonly chainCount: number;
  /** Recorded as applied (finished, not rolled back) and part of this chain. */
  readonly appliedCount: number;
  /** In the order they would be applied. */
  readonly pending: readonly string[];
  /** Recorded as applied but unknown to this chain (another fork, a newer release): refused. */
  readonly unknown: readonly string[];
  /** Started and never finished nor rolled back, with Prisma's error in logs (P3009): refused until resolved. */
  readonly failed: readonly string[];
  /**
   * Started and cut off (no finished_at and no logs: Prisma killed mid-migration, e.g. a webapp that failed its
   * health check) in a migration that leaves nothing half done: resumed as `prisma migrate resolve` would resolve it,
   * finished when its step was recorded as done, else marked rolled back and applied again.
   */
  readonly interrupted: readonly { readonly id: string; readonly name: string; readonly scriptApplied: boolean }[];
  /** Applied, but the shipped file's checksum differs (as `prisma migrate status` would report; not refused). */
  readonly modified: readonly string[];
  /** User tables in the schema while there is no history (Prisma's P3005): refused. */
  readonly foreignTables: readonly string[];
}

export interface ApplyResult {
  readonly version: string;
  readonly applied: number;
  readonly alreadyApplied: number;
  /** Migrations a cut-off Prisma run had left unfinished, resolved as described at MigrationPlan.interrupted. */
  readonly resumed: readonly string[];
  readonly firstApplied: string | undefined;
  readonly lastApplied: string | undefined;
  /** Queries sent to apply and record the chain (each one round trip). */
  readonly roundTrips: number;
  /** Batches that failed as a whole and were applied again one migration at a time. */
  readonly batchesRetried: number;
  /** Migrations sent alone that PostgreSQL aborted as a deadlock victim and that were run again. */
  readonly deadlockRetries: number;
  readonly lockWaitMs: number;
  readonly durationMs: number;
}

export interface DatabaseTarget {
  readonly connectionString: string;
  readonly connectTimeoutMs?: number;
  /** Upper bound on the wait for Prisma's advisory lock (another migrator, a booting webapp). */
  readonly lockTimeoutMs?: number;
}

/** Prisma reads `?schema=` (default public) and sets the search path to it; node-postgres does not know it. */
function connectionOptions(connectionString: string): { connectionString: string; schema: string } {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    // Never the URL itself in the message: it carries the password.
    throw new MigrationHistoryConflictError('the database URL is not a valid postgresql:// URL');
  }
  const schema = url.searchParams.get('schema') ?? 'public';
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function connect(target: DatabaseTarget): Promise<{ client: Client; schema: string }> {
  const { connectionString, schema } = connectionOptions(target.connectionString);
  const client = new Client({ connectionString, application_name: 'trigger-ops db migrate', connectionTimeoutMillis: target.connectTimeoutMs ?? BOUNDS.postgresConnectMs });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`SET search_path TO ${quoteIdent(schema)}`);
  return { client, schema };
}

function describeDatabaseError(err: unknown): { code: string; message: string } {
  const e = err as Partial<DatabaseError>;
  if (typeof e.code === 'string' && typeof e.message === 'string') {
    const extra = [e.detail ? `DETAIL: ${e.detail}` : '', e.hint ? `HINT: ${e.hint}` : '', e.where ? `CONTEXT: ${e.where}` : ''].filter(Boolean);
    return { code: e.code, message: [e.message, ...extra].join('\n') };
  }
  return { code: 'none', message: err instanceof Error ? err.message : String(err) };
}

async function readHistory(client: Client, schema: string): Promise<{ table: 'absent' | 'present'; rows: HistoryRow[]; foreignTables: string[] }> {
  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const names = tables.rows.map((r) => r.name);
  if (!names.includes(MIGRATIONS_TABLE)) {
    return { table: 'absent', rows: [], foreignTables: names.filter((n) => !IGNORED_TABLES.includes(n)) };
  }
  const rows = await client.query<HistoryRow>(
    `SELECT id, checksum, migration_name, started_at, finished_at, rolled_back_at, applied_steps_count, logs FROM ${MIGRATIONS_TABLE} ORDER BY started_at`,
  );
  return { table: 'present', rows: rows.rows, foreignTables: [] };
}

/** Prisma's checksum comparison is line-ending agnostic (checksum.rs, `script_matches_checksum`). */
function scriptMatches(m: ChainMigration, checksum: string, sha256: (s: string) => string): boolean {
  if (m.checksum === checksum) return true;
  return sha256(m.script.replace(/\r\n/g, '\n')) === checksum || sha256(m.script.replace(/\n/g, '\r\n')) === checksum;
}

function planFrom(chain: MigrationChain, history: Awaited<ReturnType<typeof readHistory>>, sha256: (s: string) => string): MigrationPlan {
  const live = history.rows.filter((r) => r.rolled_back_at === null);
  const byName = new Map(chain.migrations.map((m) => [m.name, m]));
  const finished = live.filter((r) => r.finished_at !== null);
  // apply_migrations.rs, detect_failed_migrations: finished_at and rolled_back_at both NULL. Prisma writes logs when
  // a script fails (record_failed_step); a row without them was cut off.
  const unfinished = live.filter((r) => r.finished_at === null);
  const resumable = (r: HistoryRow) => {
    const m = byName.get(r.migration_name);
    return !r.logs && m !== undefined && m.resumable && scriptMatches(m, r.checksum, sha256);
  };
  const interrupted = unfinished.filter(resumable).map((r) => ({ id: r.id, name: r.migration_name, scriptApplied: r.applied_steps_count >= 1 }));
  const rerun = new Set(interrupted.filter((i) => !i.scriptApplied).map((i) => i.name));
  const recorded = new Set(live.map((r) => r.migration_name));
  return {
    version: chain.version,
    table: history.table,
    chainCount: chain.migrations.length,
    appliedCount: finished.filter((r) => byName.has(r.migration_name)).length,
    // apply_migrations.rs: unapplied = on disk and not among the rows that were not rolled back.
    pending: chain.migrations.filter((m) => !recorded.has(m.name) || rerun.has(m.name)).map((m) => m.name),
    unknown: [...new Set(finished.filter((r) => !byName.has(r.migration_name)).map((r) => r.migration_name))],
    failed: unfinished.filter((r) => !resumable(r)).map((r) => r.migration_name),
    interrupted,
    modified: finished.filter((r) => {
      const m = byName.get(r.migration_name);
      return m !== undefined && !scriptMatches(m, r.checksum, sha256);
    }).map((r) => r.migration_name),
    foreignTables: history.foreignTables,
  };
}

/** The refusal for a plan this chain must not continue, or undefined when it may. */
export function planConflict(plan: MigrationPlan): string | undefined {
  const list = (names: readonly string[]) => names.slice(0, 10).join(', ') + (names.length > 10 ? ` and ${names.length - 10} more` : '');
  if (plan.failed.length > 0) {
    return `the database has failed migrations recorded (${list(plan.failed)}); resolve them first (prisma migrate resolve), nothing was applied`;
  }
  if (plan.unknown.length > 0) {
    return `the database has ${plan.unknown.length} migration(s) the ${plan.version} chain does not know (${list(plan.unknown)}): it belongs to another fork or a newer release; nothing was applied`;
  }
  if (plan.foreignTables.length > 0) {
    return `the schema has tables but no ${MIGRATIONS_TABLE} (${list(plan.foreignTables)}): not a database Prisma migrated (P3005); nothing was applied`;
  }
  return undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What applying the chain would do, read under no lock (a snapshot). */
export async function planMigrationChain(target: DatabaseTarget, chain: MigrationChain): Promise<MigrationPlan> {
  const { client, schema } = await connect(target);
  try {
    return planFrom(chain, await readHistory(client, schema), sha256);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A unit of sending: migrations that share one transaction, or one that must be sent alone. */
type Group = { readonly kind: 'batch'; readonly migrations: ChainMigration[] } | { readonly kind: 'alone'; readonly migration: ChainMigration };

function groupsOf(pending: readonly ChainMigration[]): Group[] {
  const groups: Group[] = [];
  let batch: ChainMigration[] = [];
  let added: string[] = [];
  const flush = () => {
    if (batch.length > 0) groups.push({ kind: 'batch', migrations: batch });
    batch = [];
    added = [];
  };
  for (const m of pending) {
    if (m.mode === 'alone') {
      flush();
      groups.push({ kind: 'alone', migration: m });
      continue;
    }
    // A value added earlier in this transaction must not be used in it: commit first (a miss costs a retried batch).
    if (added.some((value) => m.script.includes(`'${value}'`))) flush();
    batch.push(m);
    added.push(...m.addsEnumValues);
    if (batch.length >= MAX_BATCH) flush();
  }
  flush();
  return groups;
}

/**
 * Applies every migration of the chain the database has not recorded, in name order, each script byte for byte as
 * shipped, and records each in `_prisma_migrations` as Prisma does, holding Prisma's advisory lock throughout.
 *
 * Round trips: consecutive migrations that may share a transaction go as one simple query,
 * `BEGIN; <record started; script; record finished>…; COMMIT;`, so a batch is applied and recorded all or nothing.
 * A migration that must run alone is sent as the only statement of its query, as Prisma sends it; its "started" row
 * rides on the query before it and its "finished" update on the query after it. When a batch fails it is rolled back
 * and its migrations are applied again one at a time, as Prisma applies them, so the failure is recorded on the
 * migration that failed, with PostgreSQL's error, and nothing after it runs.
 */
export async function applyMigrationChain(
  target: DatabaseTarget,
  chain: MigrationChain,
  options: { onProgress?: (applied: number, pending: number) => void | Promise<void> } = {},
): Promise<ApplyResult> {
  const started = Date.now();
  const { client, schema } = await connect(target);
  let roundTrips = 0;
  const send = async (sql: string, values?: unknown[]) => {
    roundTrips += 1;
    return values ? client.query(sql, values) : client.query(sql);
  };
  /** Invalid indexes of the schema (name, and qualified and quoted): at the start, after a deadlocked build. */
  const invalidIndexes = async (): Promise<{ name: string; qualified: string }[]> => {
    const r = await client.query<{ name: string; qualified: string }>(
      `SELECT c.relname AS name, format('%I.%I', n.nspname, c.relname) AS qualified FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = $1`,
      [schema],
    );
    return r.rows;
  };
  try {
    // Polled with pg_try_advisory_lock rather than waited on with pg_advisory_lock: a session blocked in a query keeps
    // a snapshot open, and CREATE INDEX CONCURRENTLY (which the holder may be running) waits for every older snapshot
    // to end, so a blocked waiter and the holder would deadlock (PostgreSQL aborts the index build).
    const lockTimeoutMs = Math.max(1, Math.round(target.lockTimeoutMs ?? BOUNDS.migrationLockWaitMs));
    const lockDeadline = Date.now() + lockTimeoutMs;
    for (;;) {
      const got = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY}) AS locked`);
      if (got.rows[0]?.locked) break;
      if (Date.now() >= lockDeadline) {
        throw new MigrationHistoryConflictError(`another migrator held Prisma's migration lock (pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})) for more than ${lockTimeoutMs} ms; nothing was applied`);
      }
      await sleep(Math.min(LOCK_POLL_MS, Math.max(1, lockDeadline - Date.now())));
    }
    const lockWaitMs = Date.now() - started;

    const history = await readHistory(client, schema);
    const plan = planFrom(chain, history, sha256);
    const conflict = planConflict(plan);
    if (conflict) throw new MigrationHistoryConflictError(conflict);
    if (history.table === 'absent') await send(CREATE_MIGRATIONS_TABLE_SQL);
    if (plan.interrupted.length > 0) {
      // What `prisma migrate resolve` records (mark_migration_rolled_back_by_id), or the finish Prisma never wrote.
      await send(plan.interrupted.map((i) => (i.scriptApplied ? recordFinishedOnlySql(i.id) : recordRolledBackSql(i.id))).join('\n'));
      const names = new Set(plan.interrupted.map((i) => i.name));
      const builds = chain.migrations.filter((m) => names.has(m.name)).flatMap((m) => m.concurrentIndexes);
      const invalid = builds.length > 0 ? await invalidIndexes() : [];
      for (const index of invalid.filter((i) => builds.includes(i.name))) await send(`DROP INDEX IF EXISTS ${index.qualified}`);
    }

    const pendingNames = new Set(plan.pending);
    const pending = chain.migrations.filter((m) => pendingNames.has(m.name));
    const ids = new Map(pending.map((m) => [m.name, randomUUID()]));
    const id = (m: ChainMigration) => ids.get(m.name) ?? '';
    let applied = 0;
    const appliedNames: string[] = [];
    const succeeded = async (m: ChainMigration) => {
      applied += 1;
      appliedNames.push(m.name);
      await options.onProgress?.(applied, pending.length);
    };
    /** Statements that must run before anything else is sent: the finished update of a migration that ran alone. */
    let carry = '';

    const failAt = async (m: ChainMigration, err: unknown): Promise<never> => {
      const { code, message } = describeDatabaseError(err);
      await send(RECORD_FAILED_SQL, [id(m), failedMigrationLogs(m.name, code, message)]);
      throw new MigrationFailedError(m.name, code, message, applied);
    };
    const waitForLockWaitersToLeave = async () => {
      const deadline = Date.now() + WAITERS_GONE_MS;
      while (Date.now() < deadline) {
        const r = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = ${PRISMA_MIGRATE_LOCK_KEY} AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        if ((r.rows[0]?.n ?? 0) === 0) return;
        await sleep(LOCK_POLL_MS);
      }
    };
    /** One migration as Prisma applies it: started row, the script as the only statement, then finished or failed. */
    const applyAlone = async (m: ChainMigration, startedRecorded: boolean) => {
      if (!startedRecorded || carry) {
        await send(`${carry}${startedRecorded ? '' : recordStartedSql(id(m), m.name, m.checksum)}`);
        carry = '';
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await send(m.script);
          break;
        } catch (err) {
          if ((err as Partial<DatabaseError>).code !== DEADLOCK || attempt >= DEADLOCK_RETRIES) return failAt(m, err);
          // A failed concurrent build leaves an INVALID index behind, which the script's IF NOT EXISTS would then
          // take for done: drop what this attempt left, then run the file again.
          for (const index of (await invalidIndexes()).filter((i) => !invalidAtStart.some((a) => a.qualified === i.qualified))) {
            await send(`DROP INDEX IF EXISTS ${index.qualified}`);
          }
          // Prisma's waiter gives up after its 10 s and drops its connection; start again once it has.
          await waitForLockWaitersToLeave();
          deadlockRetries += 1;
        }
      }
      carry = recordFinishedSql(id(m));
      await succeeded(m);
    };

    const groups = groupsOf(pending);
    const invalidAtStart = groups.some((g) => g.kind === 'alone') ? await invalidIndexes() : [];
    /** Whether the query before an alone migration recorded its started row (it rides along when it can). */
    let startedByPrevious = false;
    let batchesRetried = 0;
    let deadlockRetries = 0;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      const next = groups[i + 1];
      if (group.kind === 'alone') {
        // Its started row was recorded by the query before it, unless that query failed or there was none.
        await applyAlone(group.migration, startedByPrevious);
        startedByPrevious = false;
        continue;
      }
      const announceNext = next?.kind === 'alone' ? recordStartedSql(id(next.migration), next.migration.name, next.migration.checksum) : '';
      const body = group.migrations.map((m) => `${recordStartedSql(id(m), m.name, m.checksum)}\n${m.script}\n;\n${recordFinishedSql(id(m))}\n`).join('');
      try {
        await send(`BEGIN;\n${carry}\n${body}${announceNext}\nCOMMIT;`);
        carry = '';
        for (const m of group.migrations) await succeeded(m);
        startedByPrevious = announceNext !== '';
      } catch {
        await client.query('ROLLBACK').catch(() => undefined);
        batchesRetried += 1;
        // Nothing of the batch happened: apply it again the way Prisma does, one migration at a time.
        for (const m of group.migrations) await applyAlone(m, false);
        startedByPrevious = false;
      }
    }
    if (carry) {
      await send(carry);
      carry = '';
    }
    await client.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK_KEY})`);
    return {
      version: chain.version,
      applied,
      alreadyApplied: plan.appliedCount,
      resumed: plan.interrupted.map((i) => i.name),
      firstApplied: appliedNames[0],
      lastApplied: appliedNames[appliedNames.length - 1],
      roundTrips,
      batchesRetried,
      deadlockRetries,
      lockWaitMs,
      durationMs: Date.now() - started,
    };
  } finally {
    // Ending the session also releases the advisory lock when we stopped early.
    await client.end().catch(() => undefined);
  }
}
