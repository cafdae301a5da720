/**
 * Every mutating activity is safe to retry.
 *
 * Temporal runs an activity again when an attempt failed, timed out or lost its worker, and that attempt may have
 * done its work already. Here every activity the timing contract (src/shared/activity-contract.ts) marks `mutating` runs
 * twice with the same input and the same activity info (attempt 1, then attempt 2 of one workflow, run and activity
 * id, so agent operation ids and update ids match), against the real sandbox (DigitalOcean, Railway, the webapp, SSH
 * droplets running the agent) and a real Temporal server. The world after the second run must equal the world after
 * the first: no second droplet, firewall, SSH key, variable, worker group or schedule; the same supervisor container
 * (same process: nothing restarted twice); a delete that finds nothing left succeeds and changes nothing. CASES must
 * name exactly the contract's mutating activities, so a new one cannot land without its retry case.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type Activities } from '../../src/activities';
import { healScheduleSpec } from '../../src/activities/temporal';
import { CONTRACT, RETRY, type ActivityName } from '../../src/shared/activity-contract';
import { DEFAULT_IMAGE, DEFAULT_REGION, DEFAULT_SIZE, type DeployResult } from '../../src/shared/deploy';
import { resourceNames, secretNames, workflowIds } from '../../src/shared/ids';
import { statusQuery } from '../../src/shared/installation-messages';
import { activityDepsFromConfig } from '../../src/worker';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { deployAndAdopt, waitForStatus } from '../helpers/lifecycle';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { waitFor } from '../helpers/wait';

type Input<K extends ActivityName> = Parameters<Activities[K]>[0];
type Output<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;

/** Deployed: the droplet verbs, the Temporal steps and teardown run on it. */
const ID = 'retry';
/** Never deployed: DigitalOcean's find-or-create and deletes start from nothing, and its worker token is a first. */
const SPARE = 'spare';
const SECRET = 'RETRY_SAFETY_SECRET';
const HOLD = 'deploy:retry-safety-hold';
const RUN_ID = '7c3e1a52-5d1b-4c39-9a1e-000000000001';

let world: World;
let worker: RunningWorker;
let activities: Activities;
let deployed: DeployResult;
let spareDropletId = 0;
let strayDropletId = 0;
/** The upgrade the cancel case cancels. */
let cancelled: Promise<unknown> = Promise.resolve();
let setups = 0;
let postgres: TestPostgres | undefined;

/** One attempt of `name` in an activity context; the same activity id on every attempt unless it is a setup step. */
function run<K extends ActivityName>(name: K, input: Input<K>, attempt = 1, activityId = `retry-${name}`): Promise<Output<K>> {
  const env = new MockActivityEnvironment(
    { activityType: name, activityId, attempt, taskQueue: world.temporal.taskQueue, workflowExecution: { workflowId: 'retry-safety', runId: RUN_ID } },
    { logger: new DefaultLogger('WARN') },
  );
  return env.run(activities[name] as unknown as (i: Input<K>) => Promise<Output<K>>, input);
}
/** A step that only sets the scene or waits: its own activity id, so it never shares an operation id with a case. */
const setup = <K extends ActivityName>(name: K, input: Input<K>) => run(name, input, 1, `setup-${++setups}`);

const railwayTarget = () => ({ projectId: world.sandbox.railway.projectId, environmentId: world.sandbox.railway.environmentId });
const webappTarget = () => ({
  projectId: world.sandbox.railway.projectId,
  environmentId: world.sandbox.railway.environmentId,
  serviceId: world.sandbox.railway.serviceIds.webapp,
});
const host = () => ({ installationId: ID, ipv4: deployed.droplet.ipv4 });
const healthy = (version: string) => setup('waitForSupervisorHealthy', { ...host(), supervisorVersion: version, timeoutSeconds: 30 });
const digest = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 12);

/** Everything the activities can change, as plain data. */
async function snapshot() {
  const dox = world.sandbox.digitalocean.inspect();
  const view = dox.droplets.some((d) => d.id === deployed.droplet.id) ? world.sandbox.droplets.inspect(deployed.droplet.id) : undefined;
  const railway = world.sandbox.railway.inspect();
  const store = join(world.dataDir, 'secrets.json');
  const secrets = existsSync(store) ? (JSON.parse(readFileSync(store, 'utf8')) as Record<string, string>) : {};
  const handle = world.temporal.client.workflow.getHandle(workflowIds.installation(ID));
  const described = await handle.describe();
  const s = described.status.name === 'RUNNING' ? await handle.query(statusQuery) : undefined;
  const schedule = await world.temporal.client.schedule
    .getHandle(workflowIds.healSchedule(ID))
    .describe()
    .then((d) => ({ intervals: JSON.stringify(d.spec.intervals), paused: d.state.paused, action: d.action.type }))
    .catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) return null;
      throw err;
    });
  return {
    digitalocean: {
      droplets: dox.droplets.map((d) => `${d.id} ${d.name} ${d.status} [${[...d.tags].sort().join(' ')}]`),
      firewalls: dox.firewalls.map((f) => `${String(f['id'])} ${String(f['name'])} → ${f.appliesToDropletIds.join(',')}`),
      sshKeys: dox.sshKeys.map((k) => `${k.id} ${k.name} ${k.fingerprint}`),
      tags: [...dox.tags].sort(),
    },
    webappVariables: Object.fromEntries(Object.entries(railway.variables['Trigger.dev'] ?? {}).map(([k, v]) => [k, digest(v)])),
    webappDeployments: railway.deployments.filter((d) => d.service === 'Trigger.dev').map((d) => d.id),
    workerGroups: world.sandbox.webapp.workerGroups().map((g) => g.name).sort(),
    secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, digest(v)])),
    droplet: view && {
      power: view.power,
      docker: view.dockerRunning,
      images: [...view.images].sort(),
      containers: view.containers.map((c) => ({ name: c.name, image: c.image, state: c.state })),
    },
    /** The same processes: nothing was restarted or recreated a second time. */
    pids: view?.containers.map((c) => `${c.name} ${c.pid ?? '-'} ${c.restartCount}`),
    installation: { status: described.status.name, runId: described.runId, desired: s?.desired, current: s?.current, queue: s?.queue, retiring: s?.retiring },
    records: s?.recent.map((r) => `${r.kind} ${r.outcome}: ${r.message}`),
    schedule,
  };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

interface Case<K extends ActivityName> {
  /** Puts the world where the first attempt starts from. */
  readonly before?: () => Promise<unknown>;
  readonly input: () => Input<K>;
  /** Waits for what an attempt set in motion to come to rest before the world is looked at. */
  readonly settle?: () => Promise<unknown>;
  /** The two answers and the world after them; by default the answers must be equal. */
  readonly check?: (first: Output<K>, second: Output<K>, world: { readonly before: Snapshot; readonly after: Snapshot }) => void | Promise<void>;
  /** What a repeat may legitimately change (and why, in a comment). */
  readonly repeatMayChange?: readonly (keyof Snapshot)[];
}

const supervisor = (w: Snapshot) => w.droplet?.containers.filter((c) => /supervisor/.test(c.name)) ?? [];
const assertSupervisor = (w: Snapshot, tag: string, state = 'running') =>
  assert.deepEqual(supervisor(w).map((c) => `${c.image.split(':').pop()} ${c.state}`), [`${tag} ${state}`]);
const count = (list: readonly string[], text: string) => list.filter((x) => x.includes(text)).length;
/** A recreate's answer without its gap to "Connected to platform", which each attempt measures for itself. */
const recreated = ({ notConnectedSeconds: _measured, ...rest }: Output<'upgradeSupervisorOnDroplet'>) => rest;

/** In the order they run: Railway and the webapp, DigitalOcean from nothing, Temporal, the droplet's agent, teardown. */
const CASES: { readonly [K in ActivityName]?: Case<K> } = {
  applyDatabaseMigrations: {
    // A real PostgreSQL behind the Postgres service's public URL (Railway's TCP proxy), a fresh database.
    before: async () => {
      postgres ??= await startTestPostgres();
      const { railway } = world.sandbox;
      railway.store.upsertVariables(railway.environmentId, railway.serviceIds.postgres, { DATABASE_PUBLIC_URL: await postgres.createDatabase('retry') }, { skipDeploys: true });
    },
    input: () => ({ projectId: world.sandbox.railway.projectId, environmentId: world.sandbox.railway.environmentId, version: 'v4.5.12' }),
    check: (a, b) => {
      assert.deepEqual([a.applied, a.alreadyApplied], [819, 0]);
      assert.deepEqual([b.applied, b.alreadyApplied], [0, 819], 'the retry finds every migration recorded and applies none');
    },
  },
  ensureWebappSecrets: {
    input: () => ({ ...webappTarget(), installationId: ID, names: [SECRET] }),
    check: (a, b, w) => {
      assert.deepEqual([a.added, b.added], [[SECRET], []]);
      assert.ok(SECRET in w.after.webappVariables);
    },
  },
  removeWebappVariables: {
    input: () => ({ ...webappTarget(), installationId: ID, names: [SECRET] }),
    check: (a, b, w) => {
      assert.deepEqual([a.removed, b.removed], [[SECRET], []]);
      assert.ok(!(SECRET in w.after.webappVariables));
    },
  },
  obtainWorkerToken: {
    input: () => ({ ...webappTarget(), installationId: SPARE, webappServiceId: webappTarget().serviceId, apiUrl: world.sandbox.webapp.url }),
    check: (a, b, w) => {
      assert.deepEqual([a.source, b.source], ['admin-api', 'stored']);
      assert.equal(count(w.after.workerGroups, resourceNames(SPARE).workerGroup), 1);
      assert.ok(secretNames(SPARE).workerToken in w.after.secrets);
    },
  },
  ensureSshKey: {
    input: () => ({ installationId: SPARE }),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.equal(count(w.after.digitalocean.sshKeys, resourceNames(SPARE).sshKey), 1);
    },
  },
  ensureFirewall: {
    input: () => ({ installationId: SPARE, sshSourceCidrs: ['203.0.113.0/24'] }),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.equal(count(w.after.digitalocean.firewalls, resourceNames(SPARE).firewall), 1);
    },
  },
  ensureDroplet: {
    input: () => ({
      installationId: SPARE,
      generation: 1,
      region: DEFAULT_REGION,
      size: DEFAULT_SIZE,
      image: DEFAULT_IMAGE,
      sshKeyId: Number(world.sandbox.digitalocean.inspect().sshKeys.find((k) => k.name === resourceNames(SPARE).sshKey)?.id),
      monitoring: false,
    }),
    // Its status goes from "new" to "active" on its own.
    settle: async () => {
      for (const d of world.sandbox.digitalocean.inspect().droplets) await setup('waitForDropletActive', { dropletId: d.id, timeoutSeconds: 30 });
    },
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.equal(count(w.after.digitalocean.droplets, resourceNames(SPARE).droplet(1)), 1);
    },
  },
  deleteDropletByName: {
    input: () => ({ installationId: SPARE, name: resourceNames(SPARE).droplet(1) }),
    check: (a, b, w) => {
      assert.deepEqual([a.deleted, b.deleted], [1, 0]);
      assert.equal(count(w.after.digitalocean.droplets, resourceNames(SPARE).droplet(1)), 0);
    },
  },
  deleteDroplet: {
    before: async () => {
      const input = { ...(CASES.ensureDroplet as Case<'ensureDroplet'>).input(), generation: 2 };
      spareDropletId = (await setup('ensureDroplet', input)).id;
      await setup('waitForDropletActive', { dropletId: spareDropletId, timeoutSeconds: 30 });
    },
    input: () => ({ installationId: SPARE, dropletId: spareDropletId }),
    check: (a, b, w) => {
      assert.deepEqual([a.deleted, b.deleted], [true, false]);
      assert.equal(count(w.after.digitalocean.droplets, `${spareDropletId} `), 0);
    },
  },
  deleteOrphans: {
    // A stray droplet of the deployed installation (another generation), as a failed undo would leave it.
    before: async () => {
      const input = { ...(CASES.ensureDroplet as Case<'ensureDroplet'>).input(), installationId: ID, generation: 5, sshKeyId: deployed.sshKeyId };
      strayDropletId = (await setup('ensureDroplet', input)).id;
      await setup('waitForDropletActive', { dropletId: strayDropletId, timeoutSeconds: 30 });
    },
    input: () => ({
      installationId: ID,
      keepDropletId: deployed.droplet.id,
      orphans: [{ kind: 'droplet', id: String(strayDropletId), name: resourceNames(ID).droplet(5) }],
    }),
    check: (a, b, w) => {
      assert.deepEqual([a.deleted.map((o) => o.id), a.gone, b.deleted, b.gone.map((o) => o.id)], [[String(strayDropletId)], [], [], [String(strayDropletId)]]);
      assert.equal(count(w.after.digitalocean.droplets, resourceNames(ID).droplet(5)), 0);
      assert.equal(count(w.after.digitalocean.droplets, `${deployed.droplet.id} `), 1, 'the desired droplet stays');
    },
  },
  acquireInstallation: {
    input: () => ({ installationId: ID, deployWorkflowId: HOLD }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ held: true }, { held: true }]);
      // One hold, for this deploy: the retry's update (same update id) did not queue a second one.
      assert.deepEqual([w.after.installation.current?.kind, w.after.installation.queue], ['deploy', []]);
    },
  },
  releaseInstallation: {
    input: () => ({ installationId: ID, deployWorkflowId: HOLD, message: 'retry-safety: released' }),
    settle: () => waitForStatus(world, ID, 'the hold to end', (s) => s.current === null),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ released: true }, { released: true }]);
      assert.equal(w.after.records?.filter((r) => r.includes(HOLD)).length, 1);
    },
  },
  handOverInstallation: {
    input: () => ({ deployed: { result: deployed, apiUrl: world.sandbox.webapp.url, generation: 1 } }),
    settle: () => waitForStatus(world, ID, 'the hand-over to be adopted', (s) => s.current === null && s.queue.length === 0),
    // A repeated `deployed` signal is adopted again: the same desired state, one more "adopted" record.
    repeatMayChange: ['records'],
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.equal(w.after.installation.desired?.configHash, deployed.configHash);
    },
  },
  ensureHealSchedule: {
    input: () => ({ installationId: ID, intervalSeconds: 90 }),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      const intervals = JSON.parse(w.after.schedule?.intervals ?? '[]') as { every: number; offset?: number }[];
      // The installation's own offset within the interval, so installations' checks spread over it.
      assert.deepEqual(intervals.map((i) => [i.every, i.offset ?? 0]), [[90_000, healScheduleSpec(ID, 90).offsetMs]]);
      assert.equal(w.after.schedule?.paused, true, 'an interval change keeps the pause');
    },
  },
  stopSupervisor: {
    input: host,
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assertSupervisor(w.after, 'v4.5.11', 'exited');
    },
  },
  applySupervisorConfig: {
    input: () => ({ ...host(), dropletId: deployed.droplet.id, ...webappTarget(), webappServiceId: webappTarget().serviceId, supervisorVersion: 'v4.5.11', apiUrl: world.sandbox.webapp.url }),
    settle: () => healthy('v4.5.11'),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.deepEqual([a.changed, a.configHash], [false, deployed.configHash]);
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  restartSupervisor: {
    input: host,
    settle: () => healthy('v4.5.11'),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.notDeepEqual(w.after.pids, w.before.pids, 'the first attempt restarted it');
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  cancelDropletOperation: {
    // An upgrade to v4.5.10 caught in a slow pull (before its commit point): the run a cancel is for.
    before: async () => {
      world.sandbox.timings.force('imagePull', 6_000, { times: 1 });
      const upgrade = setup('upgradeSupervisorOnDroplet', { ...host(), version: 'v4.5.10', healthTimeoutSeconds: 30, opId: 'retry-safety-cancelled' });
      upgrade.catch(() => undefined);
      const pulling = () => world.sandbox.droplets.inspect(deployed.droplet.id).pulling.some((i) => i.endsWith(':v4.5.10'));
      await waitFor('the upgrade to pull v4.5.10 on the droplet', () => (pulling() ? true : undefined), 30_000, 20);
      cancelled = upgrade;
    },
    input: () => ({ ...host(), opId: 'retry-safety-cancelled' }),
    // The sandbox's Docker daemon finishes a pull whose client was killed; wait for it so nothing changes later.
    settle: () => waitFor('the abandoned pull', () => (world.sandbox.droplets.inspect(deployed.droplet.id).pulling.length === 0 ? true : undefined), 30_000),
    check: async (a, b, w) => {
      assert.deepEqual([a, b], [{ cancelled: true }, { cancelled: false }]);
      await assert.rejects(cancelled, /cancelled/);
      assert.deepEqual(w.after.pids, w.before.pids, 'the supervisor was never touched');
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  upgradeSupervisorOnDroplet: {
    input: () => ({ ...host(), version: 'v4.5.12', healthTimeoutSeconds: 30, opId: 'retry-safety-upgrade' }),
    check: (a, b, w) => {
      assert.deepEqual(recreated(b), recreated(a));
      assert.deepEqual([a.changed, a.tag, a.previousTag, a.healthy], [true, 'v4.5.12', 'v4.5.11', true]);
      assertSupervisor(w.after, 'v4.5.12');
    },
  },
  rollbackSupervisorOnDroplet: {
    input: () => ({ ...host(), version: 'v4.5.11', healthTimeoutSeconds: 30, opId: 'retry-safety-rollback' }),
    check: (a, b, w) => {
      assert.deepEqual(recreated(b), recreated(a));
      assert.deepEqual([a.changed, a.tag, a.healthy], [true, 'v4.5.11', true]);
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  pruneDocker: {
    input: host,
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.ok(!w.after.droplet?.images.some((i) => /:v4\.5\.1[02]$/.test(i)), `unused images pruned: ${w.after.droplet?.images.join(', ')}`);
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  startDocker: {
    before: () => world.sandbox.droplets.faults.stopDocker(deployed.droplet.id),
    input: host,
    settle: () => healthy('v4.5.11'),
    check: (a, b, w) => {
      assert.deepEqual(b, a);
      assert.equal(w.after.droplet?.docker, true);
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  powerDroplet: {
    input: () => ({ installationId: ID, dropletId: deployed.droplet.id, action: 'power_cycle', timeoutSeconds: 30 }),
    settle: () => healthy('v4.5.11'),
    // A power cycle has no operation id: a repeat cycles again, so the processes are new; the state is the same.
    repeatMayChange: ['pids'],
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ completed: true }, { completed: true }]);
      assertSupervisor(w.after, 'v4.5.11');
    },
  },
  retireInstallation: {
    input: () => ({ installationId: ID, timeoutSeconds: 30 }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ scheduleDeleted: true, retired: true }, { scheduleDeleted: false, retired: true }]);
      // Retired, not ended: it refuses every request until teardown's last step.
      assert.deepEqual([w.after.installation.status, w.after.installation.retiring, w.after.installation.current, w.after.schedule], ['RUNNING', true, null, null]);
    },
  },
  endInstallation: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ ended: true }, { ended: false }]);
      assert.equal(w.after.installation.status, 'COMPLETED');
    },
  },
  stopSupervisors: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ stopped: 1 }, { stopped: 1 }]);
      assertSupervisor(w.after, 'v4.5.11', 'exited');
    },
  },
  deleteDroplets: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ deleted: 1, kept: [] }, { deleted: 0, kept: [] }]);
      assert.equal(count(w.after.digitalocean.droplets, resourceNames(ID).tag), 0);
    },
  },
  deleteFirewall: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ deleted: true }, { deleted: false }]);
      assert.equal(count(w.after.digitalocean.firewalls, resourceNames(ID).firewall), 0);
    },
  },
  deleteSshKey: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ deleted: true }, { deleted: false }]);
      assert.equal(count(w.after.digitalocean.sshKeys, resourceNames(ID).sshKey), 0);
    },
  },
  forgetInstallationSecrets: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a.forgotten, b.forgotten], [4, 0]);
      assert.deepEqual(Object.keys(w.after.secrets).filter((k) => k.startsWith(`installations/${ID}/`)), []);
    },
  },
  deleteInstallationTag: {
    input: () => ({ installationId: ID }),
    check: (a, b, w) => {
      assert.deepEqual([a, b], [{ deleted: true }, { deleted: false }]);
      assert.ok(!w.after.digitalocean.tags.includes(resourceNames(ID).tag));
    },
  },
  // The webapp's email: SMTP without auth (no secret to seal), then put back as it was, then the kept copy dropped.
  applyEmailSettings: {
    input: () => ({
      ...railwayTarget(),
      installationId: SPARE,
      opId: 'retry-email',
      settings: { transport: 'smtp', FROM_EMAIL: 'login@example.com', SMTP_HOST: 'smtp.example.com', SMTP_PORT: 587, SMTP_SECURE: false },
    }),
    check: (a, b, w) => {
      assert.deepEqual([a.changed, b.changed], [true, false], 'the retry finds the variables written and writes nothing');
      assert.ok(!('EMAIL_TRANSPORT' in w.before.webappVariables) && 'EMAIL_TRANSPORT' in w.after.webappVariables);
      assert.ok(secretNames(SPARE).emailPrevious in w.after.secrets, 'the variables to put back are kept once');
    },
  },
  restoreEmailSettings: {
    input: () => ({ ...railwayTarget(), installationId: SPARE }),
    check: (a, b, w) => {
      assert.deepEqual([a.restored, b.restored], [true, false]);
      assert.ok(!('EMAIL_TRANSPORT' in w.after.webappVariables));
      assert.ok(!(secretNames(SPARE).emailPrevious in w.after.secrets));
    },
  },
  forgetEmailSnapshot: {
    input: () => ({ installationId: SPARE }),
  },
};

async function retryCase<K extends ActivityName>(name: K): Promise<void> {
  const c = CASES[name] as Case<K>;
  await c.before?.();
  const input = c.input();
  const before = await snapshot();
  const first = await run(name, input, 1);
  await c.settle?.();
  const once = await snapshot();
  const second = await run(name, input, 2);
  await c.settle?.();
  const twice = await snapshot();
  for (const key of Object.keys(once) as (keyof Snapshot)[]) {
    if (!c.repeatMayChange?.includes(key)) assert.deepEqual(twice[key], once[key], `${name}: the second attempt changed ${key}`);
  }
  await (c.check ?? ((a, b) => assert.deepEqual(b, a)))(first, second, { before, after: twice });
}

describe('retry safety: the cases', () => {
  it('cover exactly the mutating activities of the timing contract', () => {
    // An activity whose policy is `once` (maximumAttempts 1: it sends an email) is never retried, so it has no retry to
    // be safe against; the workflow decides what follows its failure.
    assert.equal(RETRY.once.maximumAttempts, 1);
    const mutating = (Object.keys(CONTRACT) as ActivityName[]).filter((name) => CONTRACT[name].mutating && CONTRACT[name].retry !== 'once');
    assert.deepEqual(Object.keys(CASES).sort(), mutating.sort());
  });
});

describe('retry safety: every mutating activity, run twice as a retry would, leaves the world as one run did', () => {
  before(async () => {
    world = await startWorld();
    worker = await world.startWorker();
    activities = createActivities(activityDepsFromConfig(world.config, world.temporal.codec, { temporalClient: async () => world.temporal.client }));
    deployed = (await deployAndAdopt(world, ID)).result;
  });
  after(async () => {
    await worker?.stop();
    await world?.close();
    await postgres?.stop();
  });

  for (const name of Object.keys(CASES) as ActivityName[]) {
    it(name, () => retryCase(name));
  }
});
