import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server';
import { findOrInstallTemporal } from '../../src/controller/temporal-cli';
import { statusQuery } from '../../src/shared/installation-messages';
import { startWorld, type World } from '../helpers/installation';
import { waitFor } from '../helpers/wait';

const exec = promisify(execFile);

/** The README's Temporal CLI recipes, exactly as written there, one per line (comments dropped). */
function readmeRecipes(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = readme.split('<!-- temporal-recipes:start -->')[1]?.split('<!-- temporal-recipes:end -->')[0] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('temporal '));
}

describe('the README Temporal CLI recipes, run with the real temporal binary', () => {
  let world: World;
  let codec: CodecServer;
  let temporalDir: string;
  const recipes = readmeRecipes();

  /** Runs one recipe line verbatim in bash; only the documented codec endpoint is pointed at this test's. */
  async function recipe(prefix: string): Promise<string> {
    const line = recipes.find((r) => r.startsWith(prefix));
    assert.ok(line, `the README has a recipe starting with "${prefix}"`);
    const { stdout } = await exec('bash', ['-c', line.replace('http://127.0.0.1:8888', codec.url)], {
      env: { PATH: `${temporalDir}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? '/root', TEMPORAL_ADDRESS: world.temporal.address },
    });
    return stdout;
  }

  before(async () => {
    // Its own dev server, because the recipes use the production task queue name.
    world = await startWorld({ temporalArgs: [], taskQueue: 'trigger-ops' });
    await world.startWorker();
    codec = await startCodecServer(world.temporal.codec);
    temporalDir = dirname(findOrInstallTemporal());
  });

  after(async () => {
    await codec.close();
    await world.close();
  });

  it('has the recipes the operator guide promises', () => {
    assert.equal(recipes.length, 7);
  });

  it('starts a deploy', async () => {
    await recipe('temporal workflow start --type deploy');
    const result = await world.temporal.client.workflow.getHandle('deploy:prod').result();
    assert.equal(result.droplet.name, 'tops-prod-g1');
  });

  it('signals an upgrade and queries the status through the codec server', async () => {
    await recipe('temporal workflow signal --workflow-id installation:prod --name upgradeSupervisor');
    const handle = world.temporal.client.workflow.getHandle('installation:prod');
    await waitFor('the upgrade', async () => {
      const s = await handle.query(statusQuery);
      return s.recent.some((r) => r.kind === 'upgrade' && r.outcome === 'succeeded') ? s : undefined;
    }, 60_000, 200);
    const out = await recipe('temporal workflow query --workflow-id installation:prod --name status');
    assert.match(out, /"supervisorVersion":\s*"v4\.5\.12"/);
  });

  it('lists, triggers and pauses the heal schedule', async () => {
    assert.match(await recipe('temporal schedule list'), /heal:prod/);
    const handle = world.temporal.client.workflow.getHandle('installation:prod');
    const before = (await handle.query(statusQuery)).healEvents.length;
    await recipe('temporal schedule trigger --schedule-id heal:prod');
    await waitFor('a heal check', async () => ((await handle.query(statusQuery)).healEvents.length > before ? true : undefined), 60_000, 200);
    await recipe('temporal schedule toggle --schedule-id heal:prod --pause');
    const described = await world.temporal.client.schedule.getHandle('heal:prod').describe();
    assert.equal(described.state.paused, true);
    assert.equal(described.state.note, 'maintenance window');
  });

  it('cancels a running deploy, which rolls back what it created', async () => {
    // A second installation's deploy, slowed at boot so that the cancel lands mid-way; the recipe names deploy:prod,
    // so this run takes that id once the first deploy has completed.
    world.sandbox.droplets.faults.delayBoot(5000);
    const handle = await world.temporal.client.workflow.start('deploy', {
      taskQueue: 'trigger-ops',
      workflowId: 'deploy:prod',
      args: [{ installationId: 'prod-two' }],
    });
    await waitFor('the droplet step', () => (world.sandbox.digitalocean.inspect().droplets.some((d) => d.name === 'tops-prod-two-g1') ? true : undefined), 30_000, 50);
    await recipe('temporal workflow cancel --workflow-id deploy:prod');
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    world.sandbox.droplets.faults.delayBoot(0);
    const left = world.sandbox.digitalocean.inspect();
    assert.equal(left.droplets.filter((d) => d.tags.includes('trigger-ops-prod-two')).length, 0);
    assert.equal(left.firewalls.filter((f) => f.name === 'tops-prod-two-fw').length, 0);
    assert.equal(left.droplets.filter((d) => d.tags.includes('trigger-ops-prod')).length, 1, 'installation prod keeps its droplet');
  });
});
