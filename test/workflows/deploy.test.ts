import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadComposeProject } from '../../sandbox/droplets/compose';
import type { DeployInput, DeployResult } from '../../src/shared/deploy';
import { secretNames } from '../../src/shared/ids';
import { deploy, teardown } from '../../src/workflows';
import { statusQuery, upgradeSupervisorUpdate } from '../../src/shared/installation-messages';
import { startWorld, type World } from '../helpers/installation';
import { decodedHistory, secretValues } from '../helpers/secrets';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { parseSupervisorEnv } from '../../vendor/trigger/v4.5.12/supervisor-env';

const FAST = { healthTimeoutSeconds: 20, bootTimeoutSeconds: 30 };

function run(world: World, installationId: string, extra: Partial<DeployInput> = {}): Promise<DeployResult> {
  return world.temporal.client.workflow.execute(deploy, {
    taskQueue: world.temporal.taskQueue,
    workflowId: `deploy:${installationId}`,
    args: [{ installationId, options: { ...FAST }, ...extra } as DeployInput],
  });
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => assert.fail('expected the deploy to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  assert.ok(err.cause instanceof ApplicationFailure);
  return err.cause;
}

/** What the installation owns at DigitalOcean right now. */
function owned(world: World, installationId: string) {
  const state = world.sandbox.digitalocean.inspect();
  const tag = `trigger-ops-${installationId}`;
  return {
    droplets: state.droplets.filter((d) => d.tags.includes(tag)),
    firewalls: state.firewalls.filter((f) => f.name === `tops-${installationId}-fw`),
    keys: state.sshKeys.filter((k) => k.name === `tops-${installationId}-controller`),
  };
}

function assertNothingLeft(world: World, installationId: string): void {
  const left = owned(world, installationId);
  assert.deepEqual(
    { droplets: left.droplets.length, firewalls: left.firewalls.length, keys: left.keys.length },
    { droplets: 0, firewalls: 0, keys: 0 },
  );
}

/** The installation's workload token secret, as the controller's secret store holds it. */
function workloadTokenSecret(world: World, installationId: string): string | undefined {
  const store = JSON.parse(readFileSync(join(world.dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
  return store[secretNames(installationId).workloadTokenSecret];
}

function webappVariables(world: World): Record<string, string> {
  return { ...world.sandbox.railway.inspect().variables['Trigger.dev'] };
}

describe('deploy: happy path, secrets, replay and teardown', () => {
  let world: World;

  before(async () => {
    world = await startWorld({ codecKey: TEST_CODEC_KEY });
    await world.startWorker();
  });
  after(() => world.close());

  it('deploys a connected supervisor on exactly one droplet behind an SSH-only firewall', async () => {
    const result = await run(world, 'happy');
    assert.equal(result.supervisorVersion, 'v4.5.11');
    assert.equal(result.monthlyPriceUsd > 0, true);

    const { droplets, firewalls, keys } = owned(world, 'happy');
    assert.equal(droplets.length, 1);
    assert.equal(droplets[0]?.status, 'active');
    assert.equal(keys.length, 1);
    assert.equal(firewalls.length, 1);
    const firewall = firewalls[0]!;
    assert.deepEqual(firewall.appliesToDropletIds, [result.droplet.id]);
    // Inbound: SSH only. The supervisor's ports (8020, 9090) are never reachable from outside.
    assert.deepEqual((firewall.inbound_rules as { protocol: string; ports: string }[]).map((r) => `${r.protocol}/${r.ports}`), ['tcp/22']);

    const instance = world.sandbox.webapp.workerInstances().find((i) => i.name === 'tops-happy-g1');
    assert.ok(instance, 'the webapp saw the supervisor connect');
    assert.equal(instance.workerVersion, '4.5.11');
    await waitFor('a heartbeat after connect', () =>
      world.sandbox.webapp.workerInstances().find((i) => i.name === 'tops-happy-g1' && i.lastHeartbeatAt !== i.connectedAt) ? true : undefined,
    );

    const view = world.sandbox.droplets.inspect(result.droplet.id);
    const supervisor = view.containers.find((c) => c.name === 'trigger-supervisor-1');
    assert.equal(supervisor?.state, 'running');
    assert.equal(supervisor?.image, 'ghcr.io/triggerdotdev/supervisor:v4.5.11');
  });

  it("runs the supervisor with its droplet's name, size and Docker API, and enforced workload tokens", async () => {
    const droplet = owned(world, 'happy').droplets[0]!;
    assert.equal(droplet.size, 's-2vcpu-4gb');
    const dir = join(world.sandbox.droplets.inspect(droplet.id).root, 'opt', 'trigger-ops', 'supervisor');
    const project = loadComposeProject({ root: '/', cwd: dir, projectDirectory: dir, files: [], envFiles: [], projectName: undefined, shellEnv: {} });
    const parsed = parseSupervisorEnv(project.services.find((s) => s.name === 'supervisor')?.environment ?? {});
    assert.ok(parsed.success, parsed.success ? '' : parsed.issues.join('\n'));
    const env = parsed.data;
    assert.equal(env.TRIGGER_WORKER_INSTANCE_NAME, droplet.name);
    assert.equal(env.WORKLOAD_TOKEN_ENFORCEMENT, 'enforce');
    assert.match(env.WORKLOAD_TOKEN_SECRET ?? '', /^[0-9a-f]{64}$/);
    assert.equal(env.WORKLOAD_TOKEN_SECRET, workloadTokenSecret(world, 'happy'));
    // The sandbox droplet runs Docker 27.5.1, which speaks API 1.47.
    assert.equal(env.DOCKER_API_VERSION, 'v1.47');
    assert.equal(env.RESOURCE_MONITOR_ENABLED, true);
    assert.deepEqual([env.RESOURCE_MONITOR_OVERRIDE_CPU_TOTAL, env.RESOURCE_MONITOR_OVERRIDE_MEMORY_TOTAL_GB], [1.5, 3]);
  });

  it('is idempotent: running deploy again changes nothing and creates no second droplet', async () => {
    const before = owned(world, 'happy');
    const again = await world.temporal.client.workflow.execute(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: 'deploy:happy-again',
      args: [{ installationId: 'happy', options: FAST }],
    });
    const now = owned(world, 'happy');
    assert.equal(now.droplets.length, 1);
    assert.equal(again.droplet.id, before.droplets[0]?.id);
    assert.equal(now.firewalls[0]?.id, before.firewalls[0]?.id);
  });

  it('keeps every secret out of the history (even decoded), the user data and the failure messages', async () => {
    const secrets = secretValues(world);
    assert.ok(secrets.length >= 8, `expected the run to involve many secrets, found ${secrets.length}`);
    const workloadSecret = workloadTokenSecret(world, 'happy');
    assert.ok(workloadSecret && secrets.includes(workloadSecret), 'the workload token secret is among those checked');
    for (const workflowId of ['deploy:happy', 'deploy:happy-again']) {
      const text = await decodedHistory(world.temporal.client, world.temporal.codec, workflowId);
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret appears in the history of ${workflowId}`);
    }
    const droplet = owned(world, 'happy').droplets[0]!;
    const userData = world.sandbox.droplets.inspect(droplet.id).cloudInit.files.map((f) => f.path).join('\n');
    const sent = world.sandbox.digitalocean.inspect().droplets.find((d) => d.id === droplet.id);
    for (const secret of secrets) {
      assert.ok(!userData.includes(secret));
      assert.ok(!JSON.stringify(sent).includes(secret), 'a secret appears in what DigitalOcean holds for the droplet');
    }
    if (process.env['RECORD_HISTORIES']) {
      const history = await world.temporal.client.workflow.getHandle('deploy:happy').fetchHistory();
      writeFileSync(join(__dirname, '..', 'replay', 'histories', 'deploy.json'), historyToJSON(history));
    }
  });

  it('a re-deploy waits for the running upgrade of the installation and never interleaves with it', async () => {
    const installation = world.temporal.client.workflow.getHandle('installation:happy');
    const upgrading = installation.executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] });
    await waitFor('the upgrade to run', async () => ((await installation.query(statusQuery)).current?.kind === 'upgrade' ? true : undefined), 20_000, 20);
    const redeploy = world.temporal.client.workflow.execute(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: 'deploy:happy-during-upgrade',
      args: [{ installationId: 'happy', options: FAST }],
    });
    const [upgraded, redeployed] = await Promise.all([upgrading, redeploy]);
    assert.equal(upgraded.outcome, 'upgraded');
    assert.equal(redeployed.supervisorVersion, 'v4.5.11');
    const status = await installation.query(statusQuery);
    const upgradeOp = status.recent.find((r) => r.kind === 'upgrade' && r.outcome === 'succeeded')!;
    const deployOp = status.recent.find((r) => r.kind === 'deploy' && r.message.includes('deploy:happy-during-upgrade'))!;
    assert.ok(deployOp && upgradeOp, JSON.stringify(status.recent));
    assert.equal(deployOp.outcome, 'succeeded');
    assert.ok(deployOp.startedAt! >= upgradeOp.finishedAt, 'the deploy began only after the upgrade had finished');
    assert.equal(status.desired?.supervisorVersion, 'v4.5.11');
  });

  it('a failed re-deploy rolls back only what it created: the running installation is untouched', async () => {
    const before = owned(world, 'happy');
    const err = await failure(
      world.temporal.client.workflow.execute(deploy, {
        taskQueue: world.temporal.taskQueue,
        workflowId: 'deploy:happy-bad-tag',
        args: [{ installationId: 'happy', supervisorVersion: 'v4.5.99', options: FAST }],
      }),
    );
    assert.match(err.message, /step "supervisor-config": .*manifest unknown/);
    const now = owned(world, 'happy');
    assert.deepEqual(now.droplets.map((d) => d.id), before.droplets.map((d) => d.id));
    assert.equal(now.firewalls[0]?.id, before.firewalls[0]?.id);
    assert.equal(now.keys[0]?.id, before.keys[0]?.id);
    const supervisor = world.sandbox.droplets.inspect(before.droplets[0]!.id).containers.find((c) => c.name === 'trigger-supervisor-1');
    assert.equal(supervisor?.state, 'running');
    assert.equal(supervisor?.image, 'ghcr.io/triggerdotdev/supervisor:v4.5.11');
  });

  it('tears down everything by tag, and a second teardown is a no-op', async () => {
    const first = await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: 'teardown:happy',
      args: [{ installationId: 'happy' }],
    });
    assert.equal(first.dropletsDeleted, 1);
    assert.equal(first.firewallDeleted, true);
    assert.equal(first.sshKeyDeleted, true);
    assertNothingLeft(world, 'happy');
    const second = await world.temporal.client.workflow.execute(teardown, {
      taskQueue: world.temporal.taskQueue,
      workflowId: 'teardown:happy-2',
      args: [{ installationId: 'happy' }],
    });
    assert.deepEqual([second.dropletsDeleted, second.firewallDeleted, second.sshKeyDeleted], [0, false, false]);
  });

  it('rejects invalid input at once, naming the field and the accepted values, before creating anything', async () => {
    const calls = JSON.stringify(world.sandbox.digitalocean.inspect().callsByOperation);
    const err = await failure(
      world.temporal.client.workflow.execute(deploy, {
        taskQueue: world.temporal.taskQueue,
        workflowId: 'deploy:bad-input',
        args: [{ installationId: 'Bad_ID', region: 'moon', supervisorVersion: 'latest' } as DeployInput],
      }),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /input\.installationId: must be 2-24 characters/);
    assert.match(err.message, /input\.region: must be a DigitalOcean region slug/);
    assert.match(err.message, /input\.supervisorVersion: must be a pinned release tag like "v4\.5\.12"/);
    assert.equal(JSON.stringify(world.sandbox.digitalocean.inspect().callsByOperation), calls);
  });

  it('rejects a size the region does not offer, listing the accepted sizes, before creating anything', async () => {
    const err = await failure(run(world, 'badsize', { size: 's-64vcpu-999gb' }));
    assert.match(err.message, /size "s-64vcpu-999gb" is not offered in nyc3 \(accepted: .*s-2vcpu-4gb/);
    assertNothingLeft(world, 'badsize');
  });
});

describe('deploy: a fatal failure at any step rolls back completely', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
    await world.startWorker();
  });
  after(() => world.close());

  it('DigitalOcean refuses the droplet (422): firewall and key are removed again', async () => {
    world.sandbox.digitalocean.faults.failNext('droplets_create', 1, { status: 422, message: 'Region is unavailable' });
    const err = await failure(run(world, 'do422'));
    assert.match(err.message, /deploy failed at step "droplet": .*422.*Region is unavailable.*Everything it created was removed/);
    assertNothingLeft(world, 'do422');
  });

  it('cloud-init fails on the droplet: the droplet, firewall and key are removed', async () => {
    world.sandbox.droplets.faults.failCloudInit();
    const err = await failure(run(world, 'cloudinit'));
    assert.match(err.message, /step "cloud-init": cloud-init failed/);
    assertNothingLeft(world, 'cloudinit');
  });

  it('the supervisor never connects (health gate timeout): everything is removed', async () => {
    world.sandbox.webapp.faults.failNext('connect', 1000, { status: 401 });
    try {
      const err = await failure(run(world, 'nohealth', { options: { ...FAST, healthTimeoutSeconds: 10 } }));
      assert.match(err.message, /step "health-gate": supervisor on .* was not healthy within 10s/);
      assertNothingLeft(world, 'nohealth');
    } finally {
      world.sandbox.webapp.faults.clear();
    }
  });

  it('an image tag the registry lacks fails the config step and rolls back', async () => {
    const err = await failure(run(world, 'notag', { supervisorVersion: 'v4.5.99' }));
    assert.match(err.message, /step "supervisor-config": .*manifest unknown/);
    assertNothingLeft(world, 'notag');
  });

  it('a droplet presenting another host key is refused before anything is sent, and rolled back', async () => {
    world.sandbox.droplets.faults.delayBoot(1500);
    const deploying = run(world, 'mitm');
    const droplet = await waitFor('the droplet to exist', () => owned(world, 'mitm').droplets[0]);
    world.sandbox.droplets.faults.differentHostKey(droplet.id);
    world.sandbox.droplets.faults.delayBoot(0);
    const envFile = join(world.sandbox.droplets.rootOf(droplet.id), 'opt/trigger-ops/supervisor/.env');
    let envWritten = false;
    const watcher = setInterval(() => {
      envWritten ||= existsSync(envFile);
    }, 20);
    try {
      const err = await failure(deploying);
      assert.match(err.message, /step "cloud-init": SSH host key of .* is SHA256:.*not the pinned SHA256:/);
      assert.equal(envWritten, false, 'no configuration (and so no secret) reached the impostor');
      assert.ok(!world.sandbox.webapp.workerInstances().some((i) => i.name.startsWith('tops-mitm-')));
      assertNothingLeft(world, 'mitm');
    } finally {
      clearInterval(watcher);
    }
  });
});

describe('deploy: DigitalOcean over HTTPS', () => {
  it('a worker not told to trust the API\'s CA fails at once, naming TRIGGER_OPS_CA_CERTS, without the token, creating nothing', async () => {
    // The sandbox's environment, less the one variable that makes its CA trusted.
    const world = await startWorld({ env: { TRIGGER_OPS_CA_CERTS: '' } });
    try {
      await world.startWorker();
      const err = await failure(run(world, 'untrusted'));
      assert.match(err.message, /TLS certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*set TRIGGER_OPS_CA_CERTS/);
      const token = world.sandbox.digitalocean.token;
      assert.ok(!err.message.includes(token) && !JSON.stringify(err.details).includes(token) && !(err.stack ?? '').includes(token));
      assert.deepEqual(world.sandbox.digitalocean.inspect().callsByOperation, {}, 'no request got through');
      assertNothingLeft(world, 'untrusted');
    } finally {
      await world.close();
    }
  });
});

describe('deploy: Railway preflight and worker credentials', () => {
  it('refuses published insecure default secrets before touching DigitalOcean', async () => {
    const world = await startWorld({ sandbox: { railway: { seed: { secrets: 'insecure-defaults' } } } });
    try {
      await world.startWorker();
      const before = webappVariables(world);
      const err = await failure(run(world, 'insecure'));
      assert.match(err.message, /step "railway-preflight": .*SESSION_SECRET.*published insecure defaults/);
      assert.deepEqual(world.sandbox.digitalocean.inspect().droplets, []);
      assert.deepEqual(webappVariables(world), before);
    } finally {
      await world.close();
    }
  });

  it('a worker token the webapp rejects fails before any droplet exists', async () => {
    const world = await startWorld({
      sandbox: { railway: { seed: { bootstrap: false } } },
      env: { TRIGGER_ADMIN_TOKEN: '', TRIGGER_WORKER_TOKEN: 'tr_wgt_0000000000000000000000000000000000000000' },
    });
    try {
      await world.startWorker();
      const err = await failure(run(world, 'badtoken'));
      assert.equal(err.type, 'DeployFailed');
      assert.match(err.message, /step "worker-token": the webapp rejected the worker token or MANAGED_WORKER_SECRET \(HTTP 401\)/);
      assert.deepEqual(world.sandbox.digitalocean.inspect().droplets, []);
      assert.deepEqual(world.sandbox.digitalocean.inspect().sshKeys, []);
    } finally {
      await world.close();
    }
  });

  it('uses the bootstrap banner from the webapp logs when no admin token is configured', async () => {
    const world = await startWorld({ env: { TRIGGER_ADMIN_TOKEN: '' } });
    try {
      await world.startWorker();
      const result = await run(world, 'bootstrap');
      const instance = world.sandbox.webapp.workerInstances().find((i) => i.name === 'tops-bootstrap-g1');
      assert.equal(instance?.group, 'bootstrap');
      assert.equal(result.droplet.name, 'tops-bootstrap-g1');
    } finally {
      await world.close();
    }
  });

  it('generates missing webapp secrets once, and removes exactly those when a later step fails', async () => {
    const world = await startWorld({ sandbox: { railway: { seed: { secrets: 'missing' } } } });
    try {
      await world.startWorker();
      const before = webappVariables(world);
      world.sandbox.digitalocean.faults.failNext('droplets_create', 1, { status: 422 });
      const err = await failure(run(world, 'gensecrets'));
      assert.match(err.message, /step "droplet"/);
      assert.deepEqual(webappVariables(world), before, 'the generated secrets were removed, nothing else changed');
      assertNothingLeft(world, 'gensecrets');

      const ok = await run(world, 'gensecrets');
      assert.deepEqual([...ok.generatedSecrets].sort(), ['ENCRYPTION_KEY', 'MAGIC_LINK_SECRET', 'MANAGED_WORKER_SECRET', 'SESSION_SECRET']);
      const after = webappVariables(world);
      for (const name of ok.generatedSecrets) assert.match(after[name] ?? '', /^[0-9a-f]{32}$/);
    } finally {
      await world.close();
    }
  });
});

describe('deploy: transient failures are retried to success', () => {
  let world: World;
  before(async () => {
    // A 500 on create leaves it ambiguous (DigitalOcean may still carry it out): the retry looks for the droplet for
    // the settle window before creating again. Two seconds here; the default's 120 s is no-duplicate.test.ts' matter.
    world = await startWorld({ env: { TRIGGER_OPS_CREATE_SETTLE_SECONDS: '2' } });
    await world.startWorker();
  });
  after(() => world.close());

  it('a 500 from DigitalOcean, a 429 with retry-after, a Railway 429 and SSH refused while booting', async () => {
    const { digitalocean, railway, droplets } = world.sandbox;
    digitalocean.faults.failNext('droplets_create', 1, { status: 500 });
    digitalocean.faults.failNext('sshKeys_create', 1, { status: 429, retryAfterSeconds: 1 });
    railway.faults.failNext('variables', 1, { status: 429, retryAfterSeconds: 1 });
    droplets.faults.delayBoot(800);
    const deploying = run(world, 'flaky');
    const droplet = await waitFor('the droplet to exist', () => owned(world, 'flaky').droplets[0]);
    await droplets.faults.sshRefuse(droplet.id);
    droplets.faults.delayBoot(0);
    setTimeout(() => void droplets.faults.sshServe(droplet.id), 2500);
    const result = await deploying;
    assert.equal(owned(world, 'flaky').droplets.length, 1);
    assert.equal(result.droplet.id, droplet.id);
    const calls = digitalocean.inspect().callsByOperation;
    assert.ok((calls['droplets_create'] ?? 0) >= 2);
    assert.ok((calls['sshKeys_create'] ?? 0) >= 2);
  });
});
