import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createRailwayApi,
  createRailwayGraphqlClient,
  RailwayApiError,
  toRailwayFailure,
  type RailwayApi as RailwayAdapter,
} from '../../src/activities/railway';
import { ErrorType } from '../../src/shared/errors';
import { startRailwayApi, type RailwayApi } from '../../sandbox/railway';
import { waitFor } from '../helpers/wait';

const FAST = { queuedMs: 10, buildingMs: 10, deployingMs: 10 };


async function rejection(promise: Promise<unknown>): Promise<RailwayApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RailwayApiError, `expected a RailwayApiError, got ${String(err)}`);
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Railway adapter against the stand-in', () => {
  let sandbox: RailwayApi;
  let account: RailwayAdapter;
  let project: RailwayAdapter;

  before(async () => {
    sandbox = await startRailwayApi({ deployTimings: FAST });
    account = createRailwayApi(createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'account', token: sandbox.accountToken } }));
    project = createRailwayApi(createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'project', token: sandbox.projectToken } }));
  });
  after(() => sandbox.close());

  const webapp = () => ({ projectId: sandbox.projectId, environmentId: sandbox.environmentId, serviceId: sandbox.serviceIds.webapp });

  it('an account token finds the template project, its services, environments and the webapp image', async () => {
    const p = await account.getProject(sandbox.projectId);
    assert.deepEqual(p.services.map((s) => s.name).sort(), ['ClickHouse', 'MinIO', 'Postgres', 'Redis', 'Registry', 'Trigger.dev', 'trigger-ops']);
    assert.deepEqual(p.environments.map((e) => e.name).sort(), ['production', 'staging']);
    const env = await account.getEnvironment(sandbox.environmentId, sandbox.projectId);
    const web = env.serviceInstances.find((i) => i.serviceId === sandbox.serviceIds.webapp);
    assert.equal(web?.image, 'ghcr.io/triggerdotdev/trigger.dev:v4.5.11');
    assert.equal(web?.latestDeployment?.status, 'SUCCESS');
    assert.equal(web?.domains.length, 1);
  });

  it('a project token resolves its project and environment and reads variables there', async () => {
    const ctx = await project.resolveProjectToken();
    assert.equal(ctx.projectId, sandbox.projectId);
    assert.equal(ctx.environmentId, sandbox.environmentId);
    assert.equal(ctx.environmentName, 'production');
    const vars = await project.getVariables(webapp());
    assert.match(vars['MANAGED_WORKER_SECRET'] ?? '', /^[0-9a-f]{64}$/);
  });

  it('a project token on another environment is Not Authorized (AuthError, token not in the message)', async () => {
    const err = await rejection(project.getEnvironment(sandbox.stagingEnvironmentId));
    assert.equal(err.type, ErrorType.AuthError);
    assert.match(err.message, /Not Authorized/);
    assert.ok(!err.message.includes(sandbox.projectToken));
    const failure = toRailwayFailure(err);
    assert.equal(failure?.type, ErrorType.AuthError);
    assert.equal(failure?.nonRetryable, true);
  });

  it('an unknown project token is "Project Token not found"; an account-only query with a project token is refused', async () => {
    const stranger = createRailwayApi(createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'project', token: 'not-a-token' } }));
    const err = await rejection(stranger.getProject(sandbox.projectId));
    assert.equal(err.type, ErrorType.AuthError);
    assert.match(err.message, /Project Token not found/);
    assert.equal((await rejection(account.resolveProjectToken())).type, ErrorType.AuthError);
  });

  it('an unknown project id is NotFound', async () => {
    const err = await rejection(account.getProject('00000000-0000-4000-8000-000000000000'));
    assert.equal(err.type, ErrorType.NotFound);
    assert.match(err.message, /Project not found/);
  });

  it('a variable upsert queues a deployment that goes to SUCCESS and removes the previous one', async () => {
    const before = await account.latestDeployment(webapp());
    assert.equal(before?.status, 'SUCCESS');
    await account.upsertVariables(webapp(), { TRIGGER_OPS_MARK: 'one' });
    const queued = await account.latestDeployment(webapp());
    assert.ok(queued && queued.id !== before.id);
    assert.notEqual(queued.status, 'SUCCESS');
    const done = await waitFor('SUCCESS', async () => {
      const d = await account.getDeployment(queued.id);
      return d.status === 'SUCCESS' ? d : undefined;
    });
    assert.equal(done.id, queued.id);
    assert.equal((await account.getDeployment(before.id)).status, 'REMOVED');
    assert.equal(sandbox.store.activeDeployment(sandbox.environmentId, sandbox.serviceIds.webapp)?.variables['TRIGGER_OPS_MARK'], 'one');
  });

  it('skipDeploys stores the variable without a deployment', async () => {
    const count = sandbox.inspect().deployments.length;
    await project.upsertVariables(webapp(), { TRIGGER_OPS_QUIET: 'yes' }, { skipDeploys: true });
    assert.equal(sandbox.inspect().deployments.length, count);
    assert.equal((await project.getVariables(webapp()))['TRIGGER_OPS_QUIET'], 'yes');
    assert.equal(sandbox.inspect().variables['Trigger.dev']?.['TRIGGER_OPS_QUIET'], 'yes');
  });

  it('references render in variables and stay raw with unrendered', async () => {
    const shared = { projectId: sandbox.projectId, environmentId: sandbox.environmentId };
    await account.upsertVariables(shared, { REGION_LABEL: 'eu' }, { skipDeploys: true });
    await account.upsertVariables(
      webapp(),
      { MIXED: 'pg=${{Postgres.PGPORT}} region=${{shared.REGION_LABEL}} port=${{PORT}}' },
      { skipDeploys: true },
    );
    const rendered = await account.getVariables(webapp());
    assert.equal(rendered['MIXED'], 'pg=5432 region=eu port=3000');
    assert.match(rendered['DATABASE_URL'] ?? '', /^postgresql:\/\/postgres:[A-Za-z0-9]+@postgres\.railway\.internal:5432\/railway/);
    const raw = await account.getVariables(webapp(), { unrendered: true });
    assert.equal(raw['MIXED'], 'pg=${{Postgres.PGPORT}} region=${{shared.REGION_LABEL}} port=${{PORT}}');
    assert.equal(raw['RAILWAY_PUBLIC_DOMAIN'], undefined);
    assert.equal((await account.getVariables(shared))['REGION_LABEL'], 'eu');
  });

  it('deleting a variable removes it and redeploys', async () => {
    await account.upsertVariables(webapp(), { TRIGGER_OPS_GONE: 'x' }, { skipDeploys: true });
    const count = sandbox.inspect().deployments.length;
    await account.deleteVariable(webapp(), 'TRIGGER_OPS_GONE');
    assert.equal((await account.getVariables(webapp()))['TRIGGER_OPS_GONE'], undefined);
    assert.equal(sandbox.inspect().deployments.length, count + 1);
  });

  it('lists deployments newest first and honours status in / notIn', async () => {
    const id = await account.deployService(sandbox.environmentId, sandbox.serviceIds.redis);
    const redis = { projectId: sandbox.projectId, environmentId: sandbox.environmentId, serviceId: sandbox.serviceIds.redis };
    await waitFor('redis SUCCESS', async () => ((await account.getDeployment(id)).status === 'SUCCESS' ? true : undefined));
    const all = await account.listDeployments(redis);
    assert.equal(all[0]?.id, id);
    assert.deepEqual(all.map((d) => d.status), ['SUCCESS', 'REMOVED']);
    assert.deepEqual((await account.listDeployments({ ...redis, status: { in: ['SUCCESS'] } })).map((d) => d.id), [id]);
    assert.deepEqual((await account.listDeployments({ ...redis, status: { notIn: ['SUCCESS'] } })).map((d) => d.status), ['REMOVED']);
    const again = await account.redeployDeployment(id);
    assert.notEqual(again.id, id);
    assert.equal((await account.latestDeployment(redis))?.id, again.id);
  });

  it('reads deployment logs with a filter and a limit', async () => {
    const d = sandbox.store.activeDeployment(sandbox.environmentId, sandbox.serviceIds.postgres);
    assert.ok(d);
    sandbox.store.appendLog(d.id, 'database system is ready to accept connections');
    sandbox.store.appendLog(d.id, 'FATAL: password authentication failed', 'error');
    const logs = await account.deploymentLogs(d.id);
    assert.deepEqual(logs.map((l) => l.message), [
      'Starting Container',
      'database system is ready to accept connections',
      'FATAL: password authentication failed',
    ]);
    assert.deepEqual((await account.deploymentLogs(d.id, { filter: '@level:error' })).map((l) => l.message), [
      'FATAL: password authentication failed',
    ]);
    assert.deepEqual((await account.deploymentLogs(d.id, { filter: 'ready' })).length, 1);
    assert.deepEqual((await account.deploymentLogs(d.id, { limit: 1 })).map((l) => l.severity), ['error']);
  });

  it('sets a service image without deploying it', async () => {
    const count = sandbox.inspect().deployments.length;
    await account.setServiceImage(sandbox.environmentId, sandbox.serviceIds.webapp, 'ghcr.io/triggerdotdev/trigger.dev:v4.5.12');
    const env = await account.getEnvironment(sandbox.environmentId);
    assert.equal(env.serviceInstances.find((i) => i.serviceId === sandbox.serviceIds.webapp)?.image, 'ghcr.io/triggerdotdev/trigger.dev:v4.5.12');
    assert.equal(sandbox.inspect().deployments.length, count);
  });

  it('an injected GraphQL error is Rejected; an HTML 503 and a hang past the timeout are Unavailable', async () => {
    sandbox.faults.failNext('variables', 1, { graphqlError: 'Problem processing request' });
    const rejected = await rejection(account.getVariables(webapp()));
    assert.equal(rejected.type, ErrorType.Rejected);
    assert.match(rejected.message, /Problem processing request/);

    sandbox.faults.failNext('project', 1, { status: 503 });
    const html = await rejection(account.getProject(sandbox.projectId));
    assert.equal(html.type, ErrorType.Unavailable);
    assert.equal(html.status, 503);
    assert.equal(toRailwayFailure(html)?.nonRetryable, false);

    const impatient = createRailwayApi(
      createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'account', token: sandbox.accountToken }, timeoutMs: 50 }),
    );
    sandbox.faults.failNext('project', 1, { hangMs: 400 });
    const hung = await rejection(impatient.getProject(sandbox.projectId));
    assert.equal(hung.type, ErrorType.Unavailable);
    assert.match(hung.message, /no answer within 50 ms/);
    assert.ok((sandbox.inspect().calls['project'] ?? 0) >= 3);
  });

  it('an unreachable endpoint is Unavailable', async () => {
    const nowhere = createRailwayApi(createRailwayGraphqlClient({ url: 'http://127.0.0.1:1/graphql/v2', auth: { kind: 'account', token: 't' } }));
    assert.equal((await rejection(nowhere.getProject('p'))).type, ErrorType.Unavailable);
  });
});

describe('Railway rate limits', () => {
  let sandbox: RailwayApi;
  before(async () => {
    sandbox = await startRailwayApi({ rateLimits: [{ limit: 3, windowMs: 60_000 }] });
  });
  after(() => sandbox.close());

  it('429 with Retry-After and X-RateLimit-* headers becomes RateLimited with the retry delay', async () => {
    const api = createRailwayApi(createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'account', token: sandbox.accountToken } }));
    for (let i = 0; i < 3; i++) await api.getProject(sandbox.projectId);
    const raw = await fetch(sandbox.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.accountToken}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('x-ratelimit-limit'), '3');
    assert.equal(raw.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(raw.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    const retryAfter = Number(raw.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60);

    const err = await rejection(api.getProject(sandbox.projectId));
    assert.equal(err.type, ErrorType.RateLimited);
    assert.equal(err.status, 429);
    assert.ok((err.retryAfterSeconds ?? 0) > 0);
    const failure = toRailwayFailure(err);
    assert.equal(failure?.type, ErrorType.RateLimited);
    assert.equal(failure?.nonRetryable, false);
    assert.equal(failure?.nextRetryDelay, `${err.retryAfterSeconds}s`);
  });

  it('counts per token: a project token has its own budget', async () => {
    const api = createRailwayApi(createRailwayGraphqlClient({ url: sandbox.url, auth: { kind: 'project', token: sandbox.projectToken } }));
    assert.equal((await api.resolveProjectToken()).projectId, sandbox.projectId);
  });
});
