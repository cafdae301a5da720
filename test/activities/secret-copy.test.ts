// The secret store's copy on Railway: every secret sealed in a variable of the controller's own service, written
// without redeploying it, and read back by a controller whose volume is empty.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRailwayApi, createRailwayGraphqlClient, type RailwayApi as RailwayAdapter } from '../../src/activities/railway';
import {
  createFileSecretStore,
  createRailwaySecretCopy,
  Redactor,
  SECRET_VARIABLE_PREFIX,
  withSecretCopy,
  type BackedSecretStore,
} from '../../src/activities/secrets';
import { startRailwayApi, type RailwayApi } from '../../sandbox/railway';

const KEY = 'k'.repeat(16) + 'an-example-secret-key-of-40-chars';
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

describe('secret store copy in the controller service variables', () => {
  let railway: RailwayApi;
  let api: RailwayAdapter;
  let dir: string;

  before(async () => {
    railway = await startRailwayApi({ deployTimings: { queuedMs: 10, buildingMs: 10, deployingMs: 10 } });
    api = createRailwayApi(createRailwayGraphqlClient({ url: railway.url, auth: { kind: 'project', token: railway.projectToken } }));
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-secret-copy-'));
  });
  after(async () => {
    await railway.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const store = (name: string, key = KEY): BackedSecretStore => {
    const redactor = new Redactor();
    const copy = createRailwaySecretCopy({
      railway: api,
      key,
      // As the controller does with a project token: its project and environment come from the token.
      target: async () => ({ ...(await api.resolveProjectToken()), serviceId: railway.serviceIds.controller }),
    });
    return withSecretCopy(createFileSecretStore(join(dir, name, 'secrets.json'), redactor), copy, redactor);
  };
  const controllerVariables = () => railway.inspect().variables['trigger-ops'] ?? {};
  const controllerDeployments = () => railway.inspect().deployments.filter((d) => d.service === 'trigger-ops').length;

  it('seals each secret into a variable of its own, without redeploying the controller', async () => {
    const deploymentsBefore = controllerDeployments();
    const first = store('first');
    await first.put('installations/prod/controller-ssh-key', PRIVATE_KEY);
    await first.put('installations/prod/worker-token', 'tr_wgt_abcdefghijklmnop');
    const copies = Object.entries(controllerVariables()).filter(([name]) => name.startsWith(SECRET_VARIABLE_PREFIX));
    assert.equal(copies.length, 2);
    for (const [name, value] of copies) {
      assert.match(name, /^TRIGGER_OPS_SECRET_[0-9A-F]{24}$/);
      assert.match(value, /^v1:[A-Za-z0-9+/]+=*$/);
      assert.ok(!value.includes('tr_wgt_') && !value.includes('PRIVATE KEY') && !name.includes('prod'), 'neither the value nor the name in clear');
    }
    assert.equal(controllerDeployments(), deploymentsBefore, 'skipDeploys: keeping a secret does not restart the controller');
  });

  it('gives a controller with an empty volume every secret back', async () => {
    const fresh = store('fresh');
    assert.deepEqual(await fresh.restore(), { restored: 2, unreadable: [] });
    assert.equal(await fresh.get('installations/prod/controller-ssh-key'), PRIVATE_KEY);
    assert.deepEqual(await fresh.restore(), { restored: 0, unreadable: [] }, 'a second boot has nothing to restore');
    // A single missing secret is found in the copy too, without a restore.
    assert.equal(await store('lazy').get('installations/prod/worker-token'), 'tr_wgt_abcdefghijklmnop');
  });

  it('does not open with another key, and says which copies it could not open', async () => {
    const other = store('other-key', 'another-key-that-is-also-long-enough-0123');
    const { restored, unreadable } = await other.restore();
    assert.equal(restored, 0);
    assert.equal(unreadable.length, 2);
    assert.equal(await other.get('installations/prod/worker-token'), undefined);
  });

  it('a value moved to another variable does not open (the name is bound to the ciphertext)', async () => {
    const [[, sealed]] = Object.entries(controllerVariables()).filter(([name]) => name.startsWith(SECRET_VARIABLE_PREFIX)) as [[string, string]];
    await api.upsertVariables({ projectId: railway.projectId, environmentId: railway.environmentId, serviceId: railway.serviceIds.controller },
      { [`${SECRET_VARIABLE_PREFIX}${'0'.repeat(24)}`]: sealed }, { skipDeploys: true });
    const { unreadable } = await store('moved').restore();
    assert.deepEqual(unreadable, [`${SECRET_VARIABLE_PREFIX}${'0'.repeat(24)}`]);
  });

  it('forgets an installation\'s secrets in the copy too, still without a redeploy', async () => {
    const deploymentsBefore = controllerDeployments();
    const s = store('forget');
    await s.restore();
    assert.equal(await s.deletePrefix('installations/prod/'), 2);
    assert.equal(await store('after-forget').get('installations/prod/controller-ssh-key'), undefined);
    assert.equal((await store('after-forget-2').restore()).restored, 0);
    assert.equal(controllerDeployments(), deploymentsBefore);
  });
});
