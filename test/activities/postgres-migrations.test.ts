// The chain applier against a real PostgreSQL 15 (test/helpers/postgres.ts): proofs (b)–(e) of issue 18, and the
// records the stock image's `prisma migrate deploy` reads. Proof (a), the schema against one `psql -f` per file, is
// test/realistic/migrations-psql-reference.test.ts (it takes ~40 s, so it runs in the long slot).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { applyMigrationChain, MigrationFailedError, MigrationHistoryConflictError, planMigrationChain } from '../../src/activities/postgres/applier';
import { checksumOf, classifyMigration, loadMigrationChain, type ChainMigration, type MigrationChain } from '../../src/activities/postgres/chain';
import { PRISMA_MIGRATE_LOCK_KEY } from '../../src/activities/postgres/prisma';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { prismaDeployDecision } from '../helpers/prisma-migrate';
import { waitFor } from '../helpers/wait';

const chain = loadMigrationChain('v4.5.12');
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

async function query<T extends Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

interface Row extends Record<string, unknown> {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}
const history = (url: string) => query<Row>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name');

/** A chain of our own making: the first `count` of v4.5.12, as an older release's chain would be. */
function prefix(count: number, version = 'older'): MigrationChain {
  return { version, migrations: chain.migrations.slice(0, count) };
}

function migration(name: string, script: string): ChainMigration {
  return { name, script, checksum: checksumOf(script), ...classifyMigration(script) };
}

describe('PostgreSQL migration chain applier (real PostgreSQL 15)', () => {
  let pg: TestPostgres;
  let fresh: string;
  let freshDump: string;

  before(async () => {
    pg = await startTestPostgres();
    fresh = await pg.createDatabase('fresh');
  });
  after(() => pg?.stop());

  it('applies the whole v4.5.12 chain in one session and records each migration as Prisma does', async () => {
    const result = await applyMigrationChain({ connectionString: fresh }, chain);
    assert.equal(result.applied, 819);
    assert.equal(result.alreadyApplied, 0);
    assert.ok(result.roundTrips < 300, `round trips: ${result.roundTrips}`);

    // Prisma's own DDL: same columns, types, nullability and defaults.
    const columns = await query<{ column_name: string; data_type: string; max: number | null; is_nullable: string; column_default: string | null }>(
      fresh,
      `SELECT column_name, data_type, character_maximum_length AS max, is_nullable, column_default FROM information_schema.columns
       WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    assert.deepEqual(columns.map((c) => [c.column_name, c.data_type, c.max, c.is_nullable, c.column_default]), [
      ['id', 'character varying', 36, 'NO', null],
      ['checksum', 'character varying', 64, 'NO', null],
      ['finished_at', 'timestamp with time zone', null, 'YES', null],
      ['migration_name', 'character varying', 255, 'NO', null],
      ['logs', 'text', null, 'YES', null],
      ['rolled_back_at', 'timestamp with time zone', null, 'YES', null],
      ['started_at', 'timestamp with time zone', null, 'NO', 'now()'],
      ['applied_steps_count', 'integer', null, 'NO', '0'],
    ]);

    const rows = await history(fresh);
    assert.deepEqual(rows.map((r) => r.migration_name), chain.migrations.map((m) => m.name), 'one row per migration, in name order');
    for (const [i, row] of rows.entries()) {
      const m = chain.migrations[i]!;
      assert.equal(row.checksum, m.checksum, `${m.name}: checksum is the SHA-256 of the file`);
      assert.match(row.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(row.applied_steps_count, 1);
      assert.equal(row.logs, null);
      assert.equal(row.rolled_back_at, null);
      assert.ok(row.finished_at && row.finished_at >= row.started_at, `${m.name}: finished after it started`);
    }
    // The partial unique index the lossy schema-from-datamodel baseline drops is there.
    const partial = await query<{ indexdef: string }>(fresh, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE INDEX % WHERE %'`);
    assert.ok(partial.length > 0, 'partial unique indexes exist');

    const decision = await prismaDeployDecision(fresh, chain);
    assert.deepEqual(decision, { error: undefined, wouldApply: [], edited: [] }, 'prisma migrate deploy finds nothing to do');
    freshDump = await pg.schemaDump(databaseName(fresh));
  });

  it('(b) a second run applies nothing and changes nothing', async () => {
    const before = await history(fresh);
    const result = await applyMigrationChain({ connectionString: fresh }, chain);
    assert.equal(result.applied, 0);
    assert.equal(result.alreadyApplied, 819);
    assert.deepEqual(await history(fresh), before);
    assert.equal(await pg.schemaDump(databaseName(fresh)), freshDump);
    const plan = await planMigrationChain({ connectionString: fresh }, chain);
    assert.deepEqual([plan.pending, plan.unknown, plan.failed, plan.modified], [[], [], [], []]);
  });

  it('(c) on a database migrated to an older chain it applies only the new migrations', async () => {
    const url = await pg.createDatabase('older');
    const older = prefix(700);
    assert.equal((await applyMigrationChain({ connectionString: url }, older)).applied, 700);
    const oldRows = await history(url);
    assert.deepEqual((await prismaDeployDecision(url, chain)).wouldApply, chain.migrations.slice(700).map((m) => m.name));
    const plan = await planMigrationChain({ connectionString: url }, chain);
    assert.deepEqual(plan.pending, chain.migrations.slice(700).map((m) => m.name));

    const result = await applyMigrationChain({ connectionString: url }, chain);
    assert.equal(result.applied, 119);
    assert.equal(result.alreadyApplied, 700);
    assert.equal(result.firstApplied, chain.migrations[700]!.name);
    const rows = await history(url);
    assert.deepEqual(rows.slice(0, 700), oldRows, 'the older rows are untouched');
    assert.equal(rows.length, 819);
    assert.deepEqual((await prismaDeployDecision(url, chain)).wouldApply, []);
    assert.equal(await pg.schemaDump(databaseName(url)), freshDump, 'same schema as a fresh apply');
  });

  for (const cutOff of ['while its script ran', 'after its step was recorded, before its finish'] as const) {
    it(`resumes a migration a Prisma run cut off ${cutOff} (no finished_at, no logs)`, async () => {
      const url = await pg.createDatabase('cutoff');
      const at = chain.migrations.findIndex((m, i) => i >= 300 && m.mode === 'batch');
      const m = chain.migrations[at]!;
      await applyMigrationChain({ connectionString: url }, prefix(at));
      const scriptApplied = cutOff !== 'while its script ran';
      // What Prisma had written when it was killed: record_migration_started_impl, then maybe the script and
      // record_successful_step.
      const client = new Client({ connectionString: url });
      await client.connect();
      await client.query('INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, now(), $3)', ['00000000-0000-4000-8000-000000000001', m.checksum, m.name]);
      if (scriptApplied) {
        await client.query(m.script);
        await client.query('UPDATE _prisma_migrations SET applied_steps_count = 1 WHERE id = $1', ['00000000-0000-4000-8000-000000000001']);
      }
      await client.end();
      assert.match((await prismaDeployDecision(url, chain)).error ?? '', /^P3009 /, 'Prisma itself would refuse to boot');
      assert.deepEqual((await planMigrationChain({ connectionString: url }, chain)).interrupted.map((i) => i.name), [m.name]);

      const result = await applyMigrationChain({ connectionString: url }, chain);
      assert.deepEqual(result.resumed, [m.name]);
      assert.equal(result.applied, 819 - at - (scriptApplied ? 1 : 0));
      const rows = (await history(url)).filter((r) => r.migration_name === m.name);
      if (scriptApplied) {
        assert.equal(rows.length, 1);
        assert.ok(rows[0]?.finished_at && rows[0].rolled_back_at === null, 'its finish is recorded');
      } else {
        assert.equal(rows.length, 2, 'the cut-off row stays, marked rolled back, beside the new one');
        assert.ok(rows.find((r) => r.id === '00000000-0000-4000-8000-000000000001')?.rolled_back_at, 'marked rolled back as prisma migrate resolve does');
        assert.ok(rows.find((r) => r.id !== '00000000-0000-4000-8000-000000000001')?.finished_at);
      }
      assert.deepEqual(await prismaDeployDecision(url, chain), { error: undefined, wouldApply: [], edited: [] });
      assert.equal(await pg.schemaDump(databaseName(url)), freshDump);
    });
  }

  it('refuses a database with migrations the chain does not know, naming them, and changes nothing', async () => {
    // The database is at v4.5.12; a chain without its last two migrations is an older release (or another fork).
    const older = prefix(817, 'v4.5.11');
    const before = await history(fresh);
    await assert.rejects(applyMigrationChain({ connectionString: fresh }, older), (err: unknown) => {
      assert.ok(err instanceof MigrationHistoryConflictError);
      assert.match(err.message, /2 migration\(s\) the v4\.5\.11 chain does not know/);
      for (const m of chain.migrations.slice(817)) assert.ok(err.message.includes(m.name), err.message);
      return true;
    });
    assert.deepEqual(await history(fresh), before);
  });

  it('refuses a schema that has tables but no _prisma_migrations (Prisma P3005)', async () => {
    const url = await pg.createDatabase('foreign');
    await query(url, 'CREATE TABLE "Someone" (id int)');
    await assert.rejects(applyMigrationChain({ connectionString: url }, chain), /tables but no _prisma_migrations \(Someone\)/);
    assert.deepEqual(await query(url, `SELECT to_regclass('_prisma_migrations') AS t`), [{ t: null }]);
  });

  it('(d) a second applier started at the same time waits on the lock, then applies nothing', async () => {
    const url = await pg.createDatabase('race');
    // A third session holds Prisma's lock first, so both appliers demonstrably queue on it.
    const holder = new Client({ connectionString: url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})`);
    const heldFrom = Date.now();
    const first = applyMigrationChain({ connectionString: url }, chain);
    const second = applyMigrationChain({ connectionString: url }, chain);
    await waitFor('both appliers connected and asking for the lock', async () => {
      const n = await query<{ n: string }>(url, `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'trigger-ops db migrate'`);
      return n[0]?.n === '2' ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await query(url, `SELECT to_regclass('_prisma_migrations') AS t`), [{ t: null }], 'neither started while the lock was held');
    await holder.end();
    const heldMs = Date.now() - heldFrom;
    const results = await Promise.all([first, second]);
    assert.deepEqual(results.map((r) => r.applied).sort((a, b) => a - b), [0, 819]);
    for (const r of results) assert.ok(r.lockWaitMs >= heldMs - 100, `waited ${r.lockWaitMs} ms of the ${heldMs} ms the lock was held`);
    const rows = await history(url);
    assert.equal(rows.length, 819, 'every migration recorded once');
    assert.equal(new Set(rows.map((r) => r.migration_name)).size, 819);
  });

  for (const victim of ['the webapp', 'the index build'] as const) {
    it(`a webapp booting meanwhile (Prisma blocked on its lock) does not break a concurrent index build (deadlock victim: ${victim})`, async () => {
      const url = await pg.createDatabase('booting');
      const firstConcurrent = chain.migrations.findIndex((m) => m.mode === 'alone' && /CONCURRENTLY/.test(m.script));
      const webapp = new Client({ connectionString: url });
      await webapp.connect();
      let webappOutcome: Promise<string> | undefined;
      const result = await applyMigrationChain({ connectionString: url }, chain, {
        onProgress: async (applied) => {
          if (applied !== firstConcurrent || webappOutcome) return;
          // What `prisma migrate deploy` does at boot, with its 10 s bound (shortened): a blocking pg_advisory_lock.
          // PostgreSQL breaks the cycle in whichever session checks first: a long deadlock_timeout on the webapp's
          // session makes the index build the one that checks.
          await webapp.query(`SET statement_timeout = '2s'; SET deadlock_timeout = '${victim === 'the webapp' ? '100ms' : '10s'}'`);
          webappOutcome = webapp.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})`).then(() => 'locked', (err: Error) => err.message);
          await waitFor('the webapp blocked on the lock', async () => {
            const n = await query<{ n: string }>(url, `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
            return n[0]?.n === '1' ? true : undefined;
          });
        },
      });
      assert.equal(result.applied, 819);
      if (victim === 'the webapp') {
        assert.equal(await webappOutcome, 'deadlock detected');
        assert.equal(result.deadlockRetries, 0);
      } else {
        assert.equal(await webappOutcome, 'canceling statement due to statement timeout');
        assert.equal(result.deadlockRetries, 1, 'the aborted build was dropped and run again once the webapp gave up');
      }
      await webapp.end();
      assert.deepEqual(await query(url, 'SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid'), [], 'no invalid index left');
      assert.equal(await pg.schemaDump(databaseName(url)), freshDump);
      assert.deepEqual((await prismaDeployDecision(url, chain)).wouldApply, []);
    });
  }

  it('gives up waiting for the lock after its bound, applying nothing', async () => {
    const url = await pg.createDatabase('locked');
    const holder = new Client({ connectionString: url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})`);
    try {
      await assert.rejects(applyMigrationChain({ connectionString: url, lockTimeoutMs: 300 }, chain), /held Prisma's migration lock .* for more than 300 ms; nothing was applied/);
      assert.deepEqual(await query(url, `SELECT to_regclass('_prisma_migrations') AS t`), [{ t: null }]);
    } finally {
      await holder.end();
    }
  });

  for (const where of ['inside a batch', 'sent alone (CREATE INDEX CONCURRENTLY)'] as const) {
    it(`(e) a broken migration ${where} stops the chain at that file, with the error and a failed row`, async () => {
      const url = await pg.createDatabase('broken');
      const at = 300;
      const before = chain.migrations[at - 1]!.name;
      const brokenName = `${before.slice(0, 14)}5_broken`;
      const broken = where === 'inside a batch'
        ? migration(brokenName, 'CREATE TABLE "HalfDone" (id int);\nALTER TABLE "NoSuchTable" ADD COLUMN "x" int;\n')
        : migration(brokenName, 'CREATE INDEX CONCURRENTLY "NoSuchIndex" ON "NoSuchTable" ("x");\n');
      assert.equal(broken.mode, where === 'inside a batch' ? 'batch' : 'alone');
      const withBroken: MigrationChain = { version: 'v4.5.12', migrations: [...chain.migrations.slice(0, at), broken, ...chain.migrations.slice(at)] };

      await assert.rejects(applyMigrationChain({ connectionString: url }, withBroken), (err: unknown) => {
        assert.ok(err instanceof MigrationFailedError);
        assert.equal(err.migration, brokenName);
        assert.equal(err.code, '42P01');
        assert.equal(err.applied, at);
        assert.match(err.message, new RegExp(`migration ${brokenName}/migration.sql failed \\(PostgreSQL 42P01\\): relation "NoSuchTable" does not exist`));
        return true;
      });
      const rows = await history(url);
      assert.deepEqual(rows.map((r) => r.migration_name), [...chain.migrations.slice(0, at).map((m) => m.name), brokenName], 'nothing after it ran');
      const failed = rows[at]!;
      assert.equal(failed.finished_at, null);
      assert.equal(failed.rolled_back_at, null);
      assert.equal(failed.applied_steps_count, 0);
      assert.equal(failed.checksum, broken.checksum);
      assert.match(failed.logs ?? '', /^A migration failed to apply\. New migrations cannot be applied before the error is recovered from\./);
      assert.match(failed.logs ?? '', new RegExp(`Migration name: ${brokenName}\\n\\nDatabase error code: 42P01\\n\\nDatabase error:\\nrelation "NoSuchTable" does not exist`));
      // As with Prisma, the failed script's own statements were rolled back with it.
      assert.deepEqual(await query(url, `SELECT to_regclass('"HalfDone"') AS t`), [{ t: null }]);
      assert.match((await prismaDeployDecision(url, withBroken)).error ?? '', new RegExp(`P3009 .*${brokenName}`));
      await assert.rejects(applyMigrationChain({ connectionString: url }, withBroken), /failed migrations recorded \(.*_broken\); resolve them first/);
    });
  }

  it('reads ?schema= as Prisma does and records in that schema', async () => {
    const url = await pg.createDatabase('schema');
    await query(url, 'CREATE SCHEMA app');
    const result = await applyMigrationChain({ connectionString: `${url}?schema=app` }, prefix(5));
    assert.equal(result.applied, 5);
    assert.equal((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM app._prisma_migrations'))[0]?.n, '5');
    assert.deepEqual(await query(url, `SELECT to_regclass('public._prisma_migrations') AS t`), [{ t: null }]);
  });
});
