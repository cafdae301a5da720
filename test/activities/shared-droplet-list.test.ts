import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDigitalOceanApi, type DigitalOceanApi } from '../../src/activities/digitalocean';
import { createSharedDropletList } from '../../src/activities/digitalocean/shared-list';
import { MANAGED_TAG, resourceNames } from '../../src/shared/ids';
import { startDigitalOceanApi, type DigitalOceanSandbox } from '../../sandbox/digitalocean';

// The tagged droplet list the heal checks of every installation on a worker share, against the DigitalOcean
// stand-in: the number of list requests it makes is what DigitalOcean's 250 a minute is spent on.
describe('shared tagged droplet list', () => {
  let sandbox: DigitalOceanSandbox;
  let api: DigitalOceanApi;
  const ids = ['share-a', 'share-b', 'share-c'];
  const droplets = new Map<string, number>();
  const listRequests = () => sandbox.inspect().callsByOperation['droplets_list'] ?? 0;

  before(async () => {
    sandbox = await startDigitalOceanApi({ bootDelayMs: 0, actionDelayMs: 0 });
    api = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url, ca: sandbox.ca, timeoutMs: 5000 });
    for (const id of ids) {
      const names = resourceNames(id);
      const d = await sandbox.seedDroplet({ name: names.droplet(1), size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', region: 'nyc3', tags: [MANAGED_TAG, names.tag] });
      droplets.set(id, d.id);
    }
  });

  after(async () => {
    const { validationErrors, internalErrors } = sandbox.inspect();
    await sandbox.close();
    assert.deepEqual(validationErrors, []);
    assert.deepEqual(internalErrors, []);
  });

  it('one list request serves every installation while it is fresh; a write drops it', async () => {
    let now = 1_000_000;
    const shared = createSharedDropletList(api, { ttlMs: 30_000, now: () => now });
    const before = listRequests();
    const first = await Promise.all(ids.map((id) => shared.lookUpActive(id, droplets.get(id) ?? 0)));
    assert.deepEqual(first.map((r) => r.droplet?.id), ids.map((id) => droplets.get(id)));
    assert.deepEqual(first.map((r) => r.requests).sort(), [0, 0, 1], 'the one that read counts its request, the others waited for it');
    now += 29_000;
    await shared.lookUpActive('share-a', droplets.get('share-a') ?? 0);
    assert.equal(listRequests() - before, 1, 'three concurrent lookups and one more inside the TTL: one request');

    now += 2_000;
    assert.equal((await shared.lookUpActive('share-a', droplets.get('share-a') ?? 0)).requests, 1, 'older than the TTL: read again');
    await shared.api.deleteDroplet(droplets.get('share-c') ?? 0);
    const gone = await shared.lookUpActive('share-c', droplets.get('share-c') ?? 0);
    assert.equal(gone.droplet, undefined, 'a deleted droplet is not served from a list read before the delete');
    assert.equal(gone.requests, 1);
    assert.equal(listRequests() - before, 3);
  });

  it('serves a droplet only to its own installation, and only while active', async () => {
    const shared = createSharedDropletList(api, { ttlMs: 30_000 });
    const a = droplets.get('share-a') ?? 0;
    assert.equal((await shared.lookUpActive('share-b', a)).droplet, undefined, "another installation's droplet is read fresh by the caller, never served");
    assert.equal((await shared.lookUpActive('share-a', a)).droplet?.id, a);
    await shared.api.dropletAction(a, { type: 'power_off' });
    for (let i = 0; i < 100 && (await api.getDroplet(a)).status !== 'off'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await shared.lookUpActive('share-a', a)).droplet, undefined, 'powered off: not served as active');
  });
});
