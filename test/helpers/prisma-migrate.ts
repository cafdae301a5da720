import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { MigrationChain } from '../../src/activities/postgres/chain';

/**
 * An emulation of what the stock webapp image's `prisma migrate deploy` (Prisma 6.14.0) decides at boot, written
 * from prisma-engines rather than from our applier, because the Prisma CLI cannot run here (it downloads its engine):
 * - schema-engine/core/src/commands/apply_migrations.rs: after the advisory lock, `initialize` (a missing
 *   `_prisma_migrations` in a non-empty schema is P3005), then `detect_failed_migrations` (a row with finished_at and
 *   rolled_back_at both NULL is P3009), then every migration directory whose name is not among the rows that were not
 *   rolled back is applied, in name order;
 * - schema-connector/src/checksum.rs, `script_matches_checksum` (what `migrate status`/`migrate dev` use to report an
 *   edited migration): SHA-256 hex of the script, also tried with CRLF→LF and LF→CRLF, and the old non-zero-padded
 *   hex form when the stored checksum is not 64 characters long.
 * The real check, against a Railway database, is the manual step in the README (`prisma migrate status`).
 */
export interface DeployDecision {
  /** P3005 / P3009, as Prisma would fail with; undefined when deploy would proceed. */
  readonly error: string | undefined;
  /** What deploy would apply, in order. */
  readonly wouldApply: readonly string[];
  /** Applied migrations whose file no longer matches their checksum. */
  readonly edited: readonly string[];
}

function hexOf(bytes: Buffer, padded: boolean): string {
  return [...bytes].map((b) => (padded ? b.toString(16).padStart(2, '0') : b.toString(16))).join('');
}

export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v, 'utf8').digest();
    return hexOf(digest, !(checksum.length > 0 && checksum.length !== 64)) === checksum;
  });
}

export async function prismaDeployDecision(connectionString: string, chain: MigrationChain): Promise<DeployDecision> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    const tables = await client.query<{ relname: string }>(
      `SELECT tbl.relname FROM pg_class AS tbl INNER JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace
       WHERE tbl.relkind = 'r' AND namespace.nspname = ANY ($1)`,
      [['public']],
    );
    const names = tables.rows.map((r) => r.relname);
    if (!names.includes('_prisma_migrations')) {
      if (names.some((n) => n !== 'spatial_ref_sys')) return { error: 'P3005 The database schema is not empty', wouldApply: [], edited: [] };
      return { error: undefined, wouldApply: chain.migrations.map((m) => m.name), edited: [] };
    }
    const rows = (await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
      'SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC',
    )).rows;
    const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
    const edited = rows
      .filter((r) => r.rolled_back_at === null && r.finished_at !== null)
      .filter((r) => {
        const m = chain.migrations.find((c) => c.name === r.migration_name);
        return m !== undefined && !scriptMatchesChecksum(m.script, r.checksum);
      })
      .map((r) => r.migration_name);
    if (failed.length > 0) {
      return { error: `P3009 migrate found failed migrations in the target database: ${failed.map((f) => f.migration_name).join(', ')}`, wouldApply: [], edited };
    }
    const live = rows.filter((r) => r.rolled_back_at === null);
    const wouldApply = chain.migrations.filter((m) => !live.some((r) => r.migration_name === m.name)).map((m) => m.name);
    return { error: undefined, wouldApply, edited };
  } finally {
    await client.end();
  }
}
