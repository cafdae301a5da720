// Proof (a) of issue 18: the schema our applier builds is the schema the same files build when each is applied by
// itself with `psql -f`, compared as `pg_dump --schema-only` text (partial indexes included). One psql process per
// file is ~40 s for the 819 files, so this file runs in the long slot (scripts/run-tests.ts), beside the main run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyMigrationChain } from '../../src/activities/postgres/applier';
import { loadMigrationChain, VENDORED_CHAINS_DIR } from '../../src/activities/postgres/chain';
import { applyWithPsqlPerFile, startTestPostgres, type TestPostgres } from '../helpers/postgres';

const chain = loadMigrationChain('v4.5.12');
const files = chain.migrations.map((m) => join(VENDORED_CHAINS_DIR, chain.version, 'migrations', m.name, 'migration.sql'));
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

describe('v4.5.12 chain: our applier against one psql -f per file (real PostgreSQL 15)', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(() => pg?.stop());

  it('(a) both build the same schema, compared as pg_dump --schema-only text', async () => {
    const ours = await pg.createDatabase('ours');
    const reference = await pg.createDatabase('psql');
    const [result] = await Promise.all([
      applyMigrationChain({ connectionString: ours }, chain),
      applyWithPsqlPerFile(pg, databaseName(reference), files),
    ]);
    assert.equal(result.applied, 819);
    // Our side also has Prisma's history table, which psql never creates: everything else must be identical.
    const ourDump = await pg.schemaDump(databaseName(ours), ['--exclude-table=_prisma_migrations']);
    const referenceDump = await pg.schemaDump(databaseName(reference));
    const differing = ourDump.split('\n').filter((line, i) => line !== referenceDump.split('\n')[i]);
    assert.equal(ourDump, referenceDump, `first differing lines:\n${differing.slice(0, 10).join('\n')}`);
    assert.ok(ourDump.length > 100_000, 'a whole schema was dumped');
    const partialUnique = ourDump.split('\n').filter((l) => /^CREATE UNIQUE INDEX .* WHERE /.test(l));
    assert.ok(partialUnique.length > 0, 'the partial unique indexes are in both schemas');
    assert.ok((ourDump.match(/^CREATE TABLE /gm) ?? []).length >= 85, 'every table is there');
  });
});
