// The `migrations` section of `npm run bench`: a fresh database, the vendored v4.5.12 chain, applied by our applier
// (src/activities/postgres/applier.ts) and by one `psql -f` process per migration (how the original ops-controller
// applied its baseline), directly and through a local proxy adding 20 ms of round-trip time (10 ms each way per
// chunk, as through Railway's TCP proxy). A real PostgreSQL 15 (test/helpers/postgres.ts) serves both.
import { join } from 'node:path';
import { applyMigrationChain } from '../../src/activities/postgres/applier';
import { loadMigrationChain, VENDORED_CHAINS_DIR } from '../../src/activities/postgres/chain';
import { PRISMA_LOCK_WAIT_SECONDS } from '../../src/activities/postgres/prisma';
import { startLatencyProxy } from '../../test/helpers/latency-proxy';
import { applyWithPsqlPerFile, startTestPostgres } from '../../test/helpers/postgres';

export const MIGRATIONS_VERSION = 'v4.5.12';
export const RTTS_MS = [0, 20] as const;
/** Issue 18: the whole chain within 10 s at 20 ms RTT, which is also Prisma's advisory-lock wait. */
export const MIGRATIONS_TARGET_S = PRISMA_LOCK_WAIT_SECONDS;

export interface MigrationsAtRtt {
  ours_s: number;
  /** null in --quick runs, which leave the ~40 s (and far more at 20 ms) reference out. */
  psql_per_file_s: number | null;
  /** psql_per_file_s / ours_s: how many times faster ours is. */
  ratio: number | null;
  ours_round_trips: number;
  /** Batches that failed as a whole and were applied again one by one (0 unless the grouping missed a case). */
  ours_batches_retried: number;
}

export interface MigrationsFigures {
  version: string;
  count: number;
  rtt_ms: Record<string, MigrationsAtRtt>;
}

const round2 = (n: number) => Number(n.toFixed(2));
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

export async function runMigrationsBench(options: { withPsql: boolean; note: (line: string) => void }): Promise<MigrationsFigures> {
  const chain = loadMigrationChain(MIGRATIONS_VERSION);
  const files = chain.migrations.map((m) => join(VENDORED_CHAINS_DIR, chain.version, 'migrations', m.name, 'migration.sql'));
  const pg = await startTestPostgres();
  const rtt: Record<string, MigrationsAtRtt> = {};
  try {
    for (const rttMs of RTTS_MS) {
      const proxy = rttMs > 0 ? await startLatencyProxy({ host: pg.host, port: pg.port }, rttMs / 2) : undefined;
      const port = proxy?.port ?? pg.port;
      try {
        const ours = await pg.createDatabase(`bench_ours_${rttMs}`);
        const viaProxy = (url: string) => {
          const u = new URL(url);
          u.port = String(port);
          return u.toString();
        };
        options.note(`migrations: our applier, ${chain.migrations.length} migrations, +${rttMs} ms RTT…`);
        let t = performance.now();
        const result = await applyMigrationChain({ connectionString: viaProxy(ours) }, chain);
        const oursS = (performance.now() - t) / 1000;
        if (result.applied !== chain.migrations.length) throw new Error(`our applier applied ${result.applied} of ${chain.migrations.length}`);
        let psqlS: number | null = null;
        if (options.withPsql) {
          const reference = await pg.createDatabase(`bench_psql_${rttMs}`);
          options.note(`migrations: one psql -f per file, +${rttMs} ms RTT (minutes)…`);
          t = performance.now();
          await applyWithPsqlPerFile(pg, databaseName(reference), files, port);
          psqlS = (performance.now() - t) / 1000;
        }
        rtt[String(rttMs)] = {
          ours_s: round2(oursS),
          psql_per_file_s: psqlS === null ? null : round2(psqlS),
          ratio: psqlS === null ? null : round2(psqlS / oursS),
          ours_round_trips: result.roundTrips,
          ours_batches_retried: result.batchesRetried,
        };
      } finally {
        await proxy?.close();
      }
    }
  } finally {
    await pg.stop();
  }
  return { version: chain.version, count: chain.migrations.length, rtt_ms: rtt };
}
