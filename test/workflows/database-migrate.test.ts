// `db migrate` end to end below the CLI: the databaseMigrate workflow on a real Temporal server, Railway's stand-in
// answering with the Postgres service's variables, and a real PostgreSQL 15 behind its DATABASE_PUBLIC_URL; and the
// deploy step that applies the chain only while the webapp has never been deployed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { Client } from 'pg';
import { workflowIds } from '../../src/shared/ids';
import type { DatabaseMigrateResult } from '../../src/shared/database';
import { databaseMigrate, deploy, deployProgressQuery } from '../../src/workflows';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { decodedHistory, secretValues } from '../helpers/secrets';
import { waitFor } from '../helpers/wait';

const WEBAPP_V4_5_12 = 'ghcr.io/triggerdotdev/trigger.dev:v4.5.12';

/** The ApplicationFailure an activity raised, under the workflow's and the activity's failures. */
function rootCause(err: unknown): { message?: string; type?: string } {
  let c: unknown = err;
  while (c instanceof Error && c.cause instanceof Error) c = c.cause;
  return c as { message?: string; type?: string };
}

async function count(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL')).rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describe('databaseMigrate workflow (real Temporal, Railway stand-in, real PostgreSQL 15)', () => {
  let pg: TestPostgres;
  let world: World;
  let worker: RunningWorker;

  before(async () => {
    pg = await startTestPostgres();
    world = await startWorld({ sandbox: { railway: { seed: { webappImage: WEBAPP_V4_5_12 } } } });
    worker = await world.startWorker();
  });
  after(async () => {
    await worker?.stop();
    await world?.close();
    await pg?.stop();
  });

  /** Points the Postgres service's public URL (Railway's TCP proxy) at a fresh database of the real server. */
  async function freshDatabase(): Promise<string> {
    const url = await pg.createDatabase('wf');
    const { railway } = world.sandbox;
    railway.store.upsertVariables(railway.environmentId, railway.serviceIds.postgres, { DATABASE_PUBLIC_URL: url }, { skipDeploys: true });
    return url;
  }

  const run = (installationId: string, input: Record<string, unknown>, workflowId = workflowIds.databaseMigrate(installationId)) =>
    world.temporal.client.workflow.execute(databaseMigrate, {
      taskQueue: world.temporal.taskQueue,
      workflowId,
      args: [{ installationId, ...input }],
    }) as Promise<DatabaseMigrateResult>;

  it('plans, applies the webapp version\'s chain through the public URL, then finds nothing to do; no secret in history', async () => {
    const url = await freshDatabase();
    const plan = await run('dbm', { plan: true }, workflowIds.databasePlan('dbm'));
    assert.equal(plan.kind, 'plan');
    if (plan.kind !== 'plan') return;
    assert.deepEqual(
      [plan.plan.version, plan.plan.route, plan.plan.table, plan.plan.pendingCount, plan.plan.pending.length, plan.plan.refusal],
      ['v4.5.12', 'public', 'absent', 819, 20, undefined],
    );

    const applied = await run('dbm', {});
    assert.equal(applied.kind, 'applied');
    if (applied.kind !== 'applied') return;
    assert.deepEqual([applied.applied.applied, applied.applied.alreadyApplied, applied.applied.postgresService], [819, 0, 'Postgres']);
    assert.equal(await count(url), 819);

    const again = await world.temporal.client.workflow.execute(databaseMigrate, {
      taskQueue: world.temporal.taskQueue,
      workflowId: `${workflowIds.databaseMigrate('dbm')}-again`,
      args: [{ installationId: 'dbm' }],
    });
    assert.equal(again.kind === 'applied' && again.applied.applied, 0);

    const secrets = secretValues(world);
    assert.ok(secrets.includes(pg.password), 'the database password is among the scanned secrets');
    for (const id of [workflowIds.databasePlan('dbm'), workflowIds.databaseMigrate('dbm')]) {
      const history = await decodedHistory(world.temporal.client, world.temporal.codec, id);
      for (const secret of secrets) assert.ok(!history.includes(secret), `${id}: a secret is in the history`);
    }
  });

  it('refuses a version whose chain is not vendored, naming the ones that are', async () => {
    await freshDatabase();
    await assert.rejects(run('dbm-version', { version: 'v4.5.11' }), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(rootCause(err).message), /version: no migration chain is vendored for "v4\.5\.11"; vendored: v4\.5\.12/);
      return true;
    });
  });

  it('a failed migration fails the workflow with the file and PostgreSQL\'s error, secrets redacted', async () => {
    const url = await freshDatabase();
    // A table in the way of the chain's first CREATE TABLE, and a _prisma_migrations so the schema counts as migrated.
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
      migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`);
    await client.query('CREATE TABLE "User" (id text)');
    await client.end();
    await assert.rejects(run('dbm-broken', {}), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = rootCause(err);
      assert.match(String(cause?.message), /migration 20221206131204_init\/migration\.sql failed \(PostgreSQL 42P07\): relation "User" already exists/);
      assert.equal(cause?.type, 'SchemaMigrationFailed');
      return true;
    });
    const history = await decodedHistory(world.temporal.client, world.temporal.codec, workflowIds.databaseMigrate('dbm-broken'));
    for (const secret of secretValues(world)) assert.ok(!history.includes(secret), 'a secret is in the failed run\'s history');
  });
});

describe('deploy applies the chain before the webapp\'s first successful deployment', () => {
  let pg: TestPostgres;
  let world: World;
  let worker: RunningWorker;

  before(async () => {
    pg = await startTestPostgres();
    // The webapp's first deployment stays queued for a minute: it has never come up while the deploy looks.
    world = await startWorld({
      sandbox: { railway: { seed: { webappImage: WEBAPP_V4_5_12, webappDeployed: false }, deployTimings: { queuedMs: 60_000, buildingMs: 20, deployingMs: 20 } } },
    });
    worker = await world.startWorker();
  });
  after(async () => {
    await worker?.stop();
    await world?.close();
    await pg?.stop();
  });

  it('runs the database-migrations step, then goes on to the preflight', async () => {
    const url = await pg.createDatabase('first');
    const { railway } = world.sandbox;
    railway.store.upsertVariables(railway.environmentId, railway.serviceIds.postgres, { DATABASE_PUBLIC_URL: url }, { skipDeploys: true });
    const handle = await world.temporal.client.workflow.start(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.deploy('first-db'),
      args: [{ installationId: 'first-db', options: { healthTimeoutSeconds: 30, bootTimeoutSeconds: 30 } }],
    });
    try {
      const progress = await waitFor('the database step to finish', async () => {
        const p = await handle.query(deployProgressQuery);
        return p.completed.includes('database-migrations') ? p : undefined;
      }, 60_000, 50);
      assert.equal(progress.step, 'railway-preflight', 'the preflight comes next (it waits for the webapp to answer)');
      assert.equal(await count(url), 819);
    } finally {
      // The webapp will not answer for a minute: end the deploy here (it has created nothing to undo yet).
      await handle.cancel();
      await handle.result().catch(() => undefined);
    }
    const history = await decodedHistory(world.temporal.client, world.temporal.codec, workflowIds.deploy('first-db'));
    for (const secret of secretValues(world)) assert.ok(!history.includes(secret), 'a secret is in the deploy history');
  });
});
