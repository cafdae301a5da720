import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checksumOf, classifyMigration, loadMigrationChain, VENDORED_CHAINS_DIR } from '../../src/activities/postgres/chain';

describe('the vendored migration chains (src/activities/postgres/chain.ts)', () => {
  it('v4.5.12: 819 migrations in name order, checksums of the files, 71 concurrent index changes and 13 own transactions sent alone', () => {
    const chain = loadMigrationChain('v4.5.12');
    assert.equal(chain.migrations.length, 819);
    const names = chain.migrations.map((m) => m.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(chain.migrations[0]?.checksum, checksumOf(chain.migrations[0]?.script ?? ''));
    const alone = chain.migrations.filter((m) => m.mode === 'alone');
    assert.equal(alone.length, 84);
    assert.equal(alone.filter((m) => m.concurrentIndexes.length > 0).length, 56, 'CREATE INDEX CONCURRENTLY');
    assert.equal(alone.filter((m) => m.resumable).length, 71, 'concurrent index builds and DROP INDEX CONCURRENTLY IF EXISTS');
    const own = alone.filter((m) => !m.resumable);
    assert.equal(own.length, 13);
    assert.ok(own.every((m) => /^BEGIN;/m.test(m.script)));
    assert.ok(own.every((m) => !m.resumable), 'a file with its own BEGIN/COMMIT may be half done: never resumed');
    assert.ok(chain.migrations.filter((m) => m.mode === 'batch').every((m) => m.resumable));
  });

  it('classifies by statements, not comments, and knows a DO block\'s BEGIN from a transaction\'s', () => {
    assert.equal(classifyMigration('-- no CONCURRENTLY here\nCREATE TABLE "A" (id int);').mode, 'batch');
    assert.equal(classifyMigration('DO $$ BEGIN PERFORM 1; END $$;').mode, 'batch');
    assert.deepEqual(classifyMigration('CREATE INDEX CONCURRENTLY IF NOT EXISTS "Idx_A" ON "A" ("id");'), { mode: 'alone', addsEnumValues: [], resumable: true, concurrentIndexes: ['Idx_A'] });
    assert.equal(classifyMigration('BEGIN;\nUPDATE "A" SET id = 1;\nCOMMIT;').resumable, false);
    assert.deepEqual(classifyMigration(`ALTER TYPE "S" ADD VALUE 'DONE';`).addsEnumValues, ['DONE']);
  });

  it('refuses a vendored chain whose file is not the one vendored, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-chain-'));
    try {
      cpSync(join(VENDORED_CHAINS_DIR, 'v4.5.12'), join(dir, 'v4.5.12'), { recursive: true });
      writeFileSync(join(dir, 'v4.5.12', 'migrations', '20221206131204_init', 'migration.sql'), 'CREATE TABLE "X" (id int);\r\n');
      assert.throws(() => loadMigrationChain('v4.5.12', dir), /v4\.5\.12 chain's 20221206131204_init\/migration\.sql is not the file that was vendored/);
      assert.throws(() => loadMigrationChain('v9.9.9', dir), /version: no migration chain is vendored for "v9\.9\.9"; vendored: v4\.5\.12/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
