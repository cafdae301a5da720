/**
 * Destroy only what you own: a forged `migrate` started straight on the server for one installation, carrying another
 * installation's droplet, fails with NotOwned and changes nothing; and every activity that deletes, powers or
 * reconfigures a DigitalOcean droplet or writes to Railway refuses a resource that is not the installation's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type Activities } from '../../src/activities';
import type { ActivityName } from '../../src/shared/activity-contract';
import { DEFAULT_IMAGE, DEFAULT_REGION, DEFAULT_SIZE, type DesiredState } from '../../src/shared/deploy';
import { ErrorType } from '../../src/shared/errors';
import { resourceNames } from '../../src/shared/ids';
import type { MigrateWorkflowInput } from '../../src/shared/lifecycle';
import { activityDepsFromConfig } from '../../src/worker';
import { fetchTrusting } from '../helpers/https';
import { startWorld, type RunningWorker, type World } from '../helpers/installation';
import { deployAndAdopt, status } from '../helpers/lifecycle';

const A = 'own-a';
const B = 'own-b';

type Input<K extends ActivityName> = Parameters<Activities[K]>[0];

describe('ownership: nothing outside the installation is deleted, powered or reconfigured', () => {
  let world: World;
  let worker: RunningWorker;
  let activities: Activities;
  let desiredA: DesiredState;
  let dropletB: { id: number; name: string; ipv4: string };
  let handMade: number;

  /** One attempt of an activity, as a worker runs it (failures mapped to the catalogue). */
  const run = <K extends ActivityName>(name: K, input: Input<K>) =>
    new MockActivityEnvironment({ activityType: name }, { logger: new DefaultLogger('WARN') }).run(
      activities[name] as unknown as (i: Input<K>) => Promise<unknown>,
      input,
    );
  const droplets = () => world.sandbox.digitalocean.inspect().droplets;
  const exists = (id: number) => droplets().some((d) => d.id === id);
  const refusal = async (promise: Promise<unknown>, names: RegExp): Promise<ApplicationFailure> => {
    const err = await promise.then(() => assert.fail('expected NotOwned'), (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, ErrorType.NotOwned, err.message);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, names);
    assert.match(err.message, new RegExp(`installation "${A}"`));
    return err;
  };

  before(async () => {
    world = await startWorld();
    worker = await world.startWorker();
    activities = createActivities(activityDepsFromConfig(world.config, world.temporal.codec, { temporalClient: async () => world.temporal.client }));
    await deployAndAdopt(world, A);
    desiredA = (await status(world, A)).desired as DesiredState;
    // Installation B: only its key and droplet, created by the same steps a deploy uses.
    const key = (await run('ensureSshKey', { installationId: B })) as { id: number };
    const placement = { region: DEFAULT_REGION, size: DEFAULT_SIZE, image: DEFAULT_IMAGE };
    const created = (await run('ensureDroplet', { installationId: B, generation: 1, ...placement, sshKeyId: key.id, monitoring: false })) as { id: number; name: string };
    const active = (await run('waitForDropletActive', { dropletId: created.id, timeoutSeconds: 30 })) as { ipv4: string };
    dropletB = { ...created, ipv4: active.ipv4 };
    // A droplet someone made by hand and tagged with A's tag, under a name trigger-ops never gives.
    const res = await fetchTrusting(world.sandbox.digitalocean.ca)(`${world.sandbox.digitalocean.url}/v2/droplets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.sandbox.digitalocean.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hand-made', ...placement, tags: [resourceNames(A).tag] }),
    });
    handMade = ((await res.json()) as { droplet: { id: number } }).droplet.id;
  });

  after(async () => {
    await worker?.stop();
    await world?.close();
  });

  it("a forged migrate for A carrying B's droplet fails with NotOwned and deletes nothing, creating nothing", async () => {
    const creates = world.sandbox.digitalocean.inspect().callsByOperation['droplets_create'] ?? 0;
    const input: MigrateWorkflowInput = {
      installationId: A,
      from: { ...desiredA, droplet: dropletB },
      target: { size: 's-4vcpu-8gb', region: DEFAULT_REGION, image: DEFAULT_IMAGE },
      generation: desiredA.generation + 1,
      healthTimeoutSeconds: 15,
      bootTimeoutSeconds: 30,
    };
    const handle = await world.temporal.client.workflow.start('migrate', { taskQueue: world.temporal.taskQueue, workflowId: `migrate:${A}-forged`, args: [input] });
    const err = await handle.result().then(() => assert.fail('the forged migrate succeeded'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, ErrorType.NotOwned, err.cause.message);
    assert.match(err.cause.message, new RegExp(`droplet ${dropletB.id} \\("${dropletB.name}"\\) does not belong to installation "${A}" \\(it lacks the tag trigger-ops-${A}`));
    assert.ok(exists(dropletB.id), "B's droplet is still there");
    const ofA = droplets().filter((d) => d.tags.includes(resourceNames(A).tag)).map((d) => d.name).sort();
    assert.deepEqual(ofA, ['hand-made', resourceNames(A).droplet(1)], 'no new droplet was left behind for A');
    assert.equal(world.sandbox.digitalocean.inspect().callsByOperation['droplets_create'] ?? 0, creates, 'nothing was even created');
  });

  it("deleteDroplet, powerDroplet, deleteDropletByName and checkDropletOwnership refuse B's droplet", async () => {
    const actionsOnB = () => world.sandbox.digitalocean.inspect().actions.filter((a) => a.resourceId === dropletB.id && a.type !== 'create').length;
    const named = new RegExp(`droplet ${dropletB.id} \\("${dropletB.name}"\\)`);
    await refusal(run('deleteDroplet', { installationId: A, dropletId: dropletB.id }), named);
    await refusal(run('powerDroplet', { installationId: A, dropletId: dropletB.id, action: 'power_cycle', timeoutSeconds: 10 }), named);
    await refusal(run('checkDropletOwnership', { installationId: A, dropletId: dropletB.id }), named);
    await refusal(run('deleteDropletByName', { installationId: A, name: dropletB.name }), /droplet name "tops-own-b-g1" .*it is not tops-own-a-g<N>/);
    assert.ok(exists(dropletB.id));
    assert.equal(actionsOnB(), 0, 'no power action reached it');
  });

  it('a droplet with only the tag is not the installation\'s either; its own droplet and a deleted one pass', async () => {
    await refusal(run('deleteDroplet', { installationId: A, dropletId: handMade }), /droplet \d+ \("hand-made"\) .*its name is not tops-own-a-g<N>/);
    assert.ok(exists(handMade));
    assert.deepEqual(await run('checkDropletOwnership', { installationId: A, dropletId: desiredA.droplet.id }), { exists: true });
    assert.deepEqual(await run('checkDropletOwnership', { installationId: A, dropletId: 999_999_999 }), { exists: false });
  });

  it("applySupervisorConfig refuses B's droplet and a Railway service other than the webapp, before anything is sent", async () => {
    const { railway } = world.sandbox;
    const config = {
      installationId: A,
      dropletId: desiredA.droplet.id,
      ipv4: desiredA.droplet.ipv4,
      ...desiredA.railway,
      supervisorVersion: desiredA.supervisorVersion,
      apiUrl: desiredA.apiUrl,
    };
    await refusal(run('applySupervisorConfig', { ...config, dropletId: dropletB.id, ipv4: dropletB.ipv4 }), new RegExp(`droplet ${dropletB.id}`));
    await refusal(
      run('applySupervisorConfig', { ...config, webappServiceId: railway.serviceIds.postgres }),
      new RegExp(`Railway service ${railway.serviceIds.postgres} .*not the Trigger.dev webapp`),
    );
    assert.equal(world.sandbox.droplets.inspect(dropletB.id).containers.length, 0, "nothing ran on B's droplet");
  });

  it('the Railway writes refuse any service but the webapp, and leave its variables as they were', async () => {
    const { railway } = world.sandbox;
    const variables = () => JSON.stringify(railway.inspect().variables);
    const before = variables();
    const target = { installationId: A, projectId: railway.projectId, environmentId: railway.environmentId, serviceId: railway.serviceIds.redis, names: ['SESSION_SECRET'] };
    const redis = new RegExp(`Railway service ${railway.serviceIds.redis} does not belong`);
    await refusal(run('removeWebappVariables', target), redis);
    await refusal(run('ensureWebappSecrets', { ...target, names: ['OWNERSHIP_TEST'] }), redis);
    assert.equal(variables(), before);
  });
});
