// `trigger-ops db migrate [--plan]` as a user runs it: the CLI in its own process, talking to Temporal only; the
// worker and the sandbox in this process, the webapp's Postgres a real PostgreSQL 15 behind DATABASE_PUBLIC_URL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { spawnCli } from '../helpers/processes';
import { TEST_CODEC_KEY } from '../helpers/temporal';

describe('trigger-ops db migrate', () => {
  let pg: TestPostgres;
  let world: World;
  let worker: RunningWorker;
  let env: Record<string, string>;

  const cli = async (args: string[], expectCode = 0) => {
    const run = spawnCli(args, env);
    const code = await run.exited;
    assert.equal(code, expectCode, `trigger-ops ${args.join(' ')} exited ${code}:\n${run.output()}`);
    return run.output();
  };

  before(async () => {
    pg = await startTestPostgres();
    world = await startWorld({ codecKey: TEST_CODEC_KEY, sandbox: { railway: { seed: { webappImage: 'ghcr.io/triggerdotdev/trigger.dev:v4.5.12' } } } });
    worker = await world.startWorker();
    const { railway } = world.sandbox;
    railway.store.upsertVariables(railway.environmentId, railway.serviceIds.postgres, { DATABASE_PUBLIC_URL: await pg.createDatabase('cli') }, { skipDeploys: true });
    env = {
      ...world.sandbox.env,
      TEMPORAL_ADDRESS: world.temporal.address,
      TEMPORAL_TASK_QUEUE: world.temporal.taskQueue,
      TRIGGER_OPS_CODEC_KEY: TEST_CODEC_KEY.toString('base64'),
      TRIGGER_OPS_DATA_DIR: world.dataDir,
    };
  });
  after(async () => {
    await worker?.stop();
    await world?.close();
    await pg?.stop();
  });

  it('--plan shows the chain to apply, db migrate applies it, --plan then says nothing to do', async () => {
    const plan = await cli(['db', 'migrate', '-i', 'cli-db', '--plan']);
    assert.match(plan, /Database of "Postgres" \(reached through its TCP proxy\), Trigger\.dev v4\.5\.12 chain of 819 migrations:/);
    assert.match(plan, /_prisma_migrations absent \(it would be created as Prisma creates it\)/);
    assert.match(plan, /819 to apply: 20221206131204_init, /);
    const applied = await cli(['db', 'migrate', '-i', 'cli-db']);
    assert.match(applied, /Applied 819 migration\(s\) of the Trigger\.dev v4\.5\.12 chain to "Postgres" in [\d.]+ s \(\d+ round trips, public route\): 20221206131204_init … 20260818120100_/);
    assert.ok(!applied.includes(pg.password), 'the password is never printed');
    const after = JSON.parse(await cli(['db', 'migrate', '-i', 'cli-db', '--plan', '--json'])) as { kind: string; plan: { pendingCount: number; appliedCount: number } };
    assert.deepEqual([after.kind, after.plan.pendingCount, after.plan.appliedCount], ['plan', 0, 819]);
  });

  it('refuses bad options before anything runs, naming the field and what it accepts', async () => {
    assert.match(await cli(['db', 'migrate', '-i', 'cli-db', '--version', 'latest'], 2), /Invalid db migrate options: --version must be a release tag such as "v4\.5\.12"/);
    assert.match(await cli(['db', 'migrate', '-i', 'Bad_Id'], 2), /Invalid db migrate options: --installation must be 2-24 characters: lowercase letters, digits and "-"/);
  });
});
