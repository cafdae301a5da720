import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  createDigitalOceanApi,
  DigitalOceanApiError,
  toDigitalOceanFailure,
  type DigitalOceanApi,
} from '../../src/activities/digitalocean';
import { ErrorType } from '../../src/shared/errors';
import { nullDropletHosts, type DropletHostDriver, type DropletSpec } from '../../sandbox/contracts';
import { DROPLET_LIST_LAG, startDigitalOceanApi, type DigitalOceanSandbox } from '../../sandbox/digitalocean';
import { fetchTrusting } from '../helpers/https';

/** An OpenSSH ed25519 public key line, and its blob for an independent fingerprint. */
function sshPublicKey(comment: string): { line: string; md5: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
  const field = (b: Buffer) => Buffer.concat([lengthPrefix(b.length), b]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  const md5 = (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
  return { line: `ssh-ed25519 ${blob.toString('base64')} ${comment}`, md5 };
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failureOf(promise: Promise<unknown>): Promise<{ error: DigitalOceanApiError; failure: ApplicationFailure }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DigitalOceanApiError, `expected a DigitalOceanApiError, got ${String(err)}`);
    const failure = toDigitalOceanFailure(err);
    assert.ok(failure);
    return { error: err, failure };
  }
  throw new Error('expected the call to fail');
}

/** Records what the stand-in asks the host driver to do. */
function recordingHosts(): { driver: DropletHostDriver; created: DropletSpec[]; calls: string[] } {
  const inner = nullDropletHosts();
  const created: DropletSpec[] = [];
  const calls: string[] = [];
  const driver: DropletHostDriver = {
    async create(spec) {
      created.push(spec);
      calls.push(`create ${spec.id}`);
      return inner.create(spec);
    },
    powerOff: async (id) => void calls.push(`powerOff ${id}`),
    powerOn: async (id) => void calls.push(`powerOn ${id}`),
    shutdown: async (id) => void calls.push(`shutdown ${id}`),
    reboot: async (id) => void calls.push(`reboot ${id}`),
    powerCycle: async (id) => void calls.push(`powerCycle ${id}`),
    rebuild: async (id, image) => void calls.push(`rebuild ${id} ${image}`),
    destroy: async (id) => void calls.push(`destroy ${id}`),
  };
  return { driver, created, calls };
}

describe('DigitalOcean adapter against the stand-in', () => {
  let sandbox: DigitalOceanSandbox;
  let api: DigitalOceanApi;
  let fetch: ReturnType<typeof fetchTrusting>;
  const hosts = recordingHosts();

  before(async () => {
    sandbox = await startDigitalOceanApi({
      hosts: hosts.driver,
      // Long enough that a loaded machine still sees the create and power actions in progress.
      bootDelayMs: 1_000,
      actionDelayMs: 1_000,
      validateResponses: true,
      rateLimit: { perMinute: 100_000, perHour: 100_000 },
    });
    api = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url, ca: sandbox.ca, timeoutMs: 2000 });
    fetch = fetchTrusting(sandbox.ca);
  });

  after(async () => {
    const { validationErrors, internalErrors, ignoredRequestParts } = sandbox.inspect();
    await sandbox.close();
    assert.deepEqual(validationErrors, []);
    assert.deepEqual(ignoredRequestParts, [], 'our client sends nothing the API would ignore');
    assert.deepEqual(internalErrors, []);
  });

  it('creates a droplet that goes from new to active with a public IPv4 once its host is up', async () => {
    const key = sshPublicKey('tops@test');
    const sshKey = await api.createSshKey({ name: 'tops-create-key', publicKey: key.line });
    const { droplet, createActionId } = await api.createDroplet({
      name: 'tops-create-sup',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'docker-20-04',
      sshKeys: [sshKey.fingerprint],
      tags: ['trigger-ops', 'trigger-ops-create'],
      userData: '#cloud-config\n{}\n',
    });
    assert.equal(droplet.status, 'new');
    assert.equal(droplet.publicIpv4, undefined);
    assert.ok(createActionId);
    assert.equal((await api.getAction(createActionId)).status, 'in-progress');

    const action = await until(() => api.getAction(createActionId), (a) => a.status !== 'in-progress');
    assert.equal(action.status, 'completed');
    const active = await api.getDroplet(droplet.id);
    assert.equal(active.status, 'active');
    assert.match(active.publicIpv4 ?? '', /^127\.\d+\.\d+\.\d+$/);
    const spec = hosts.created.find((s) => s.id === droplet.id);
    assert.equal(spec?.userData, '#cloud-config\n{}\n');
    assert.deepEqual(spec?.sshPublicKeys, [key.line]);
    assert.deepEqual(spec?.tags, ['trigger-ops', 'trigger-ops-create']);
  });

  it('lists every droplet of a tag across pages and deletes them by tag', async () => {
    const names = Array.from({ length: 203 }, (_, i) => `tops-page-${i}`);
    for (let i = 0; i < names.length; i += 10) {
      const res = await fetch(`${sandbox.url}/v2/droplets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ names: names.slice(i, i + 10), size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', tags: ['tops-page'] }),
      });
      assert.equal(res.status, 202);
    }
    const listedBefore = sandbox.inspect().callsByOperation['droplets_list'] ?? 0;
    const listed = await api.listDropletsByTag('tops-page');
    assert.equal(listed.length, 203);
    assert.deepEqual(new Set(listed.map((d) => d.name)), new Set(names));
    assert.equal((sandbox.inspect().callsByOperation['droplets_list'] ?? 0) - listedBefore, 2, 'two pages of 200');

    const page = await fetch(`${sandbox.url}/v2/droplets?tag_name=tops-page&page=2&per_page=100`, {
      headers: { authorization: `Bearer ${sandbox.token}` },
    });
    const body = (await page.json()) as { droplets: unknown[]; links: { pages: Record<string, string> }; meta: { total: number } };
    assert.equal(body.droplets.length, 100);
    assert.equal(body.meta.total, 203);
    assert.deepEqual(Object.keys(body.links.pages).sort(), ['first', 'last', 'next', 'prev']);
    assert.match(body.links.pages['last'] ?? '', /page=3&per_page=100/);

    await api.deleteDropletsByTag('tops-page');
    assert.deepEqual(await api.listDropletsByTag('tops-page'), []);
    await until(async () => hosts.calls.filter((c) => c.startsWith('destroy')).length, (n) => n >= 203);
  });

  it('finds droplets by name (any tags, case-insensitive) and keeps a lagging create out of every list until it catches up', async () => {
    sandbox.faults.failNext(DROPLET_LIST_LAG, 1, { latencyMs: 1_500 });
    const placement = { region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04' };
    const { droplet } = await api.createDroplet({ name: 'tops-lag-g1', ...placement, tags: ['trigger-ops-lag'] });
    assert.equal((await api.getDroplet(droplet.id)).name, 'tops-lag-g1', 'its id is known at once');
    assert.deepEqual(await api.listDropletsByTag('trigger-ops-lag'), []);
    assert.deepEqual(await api.listDropletsByName('tops-lag-g1'), []);
    const listed = await until(() => api.listDropletsByName('TOPS-LAG-G1'), (l) => l.length > 0);
    assert.deepEqual(listed.map((d) => d.id), [droplet.id]);
    assert.deepEqual((await api.listDropletsByTag('trigger-ops-lag')).map((d) => d.id), [droplet.id]);
    await api.deleteDroplet(droplet.id);
  });

  it('deletes a tag: whatever carried it is untagged, and a second delete finds nothing', async () => {
    await api.ensureTag('trigger-ops-untag');
    const { droplet } = await api.createDroplet({ name: 'tops-untag-g1', region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04', tags: ['trigger-ops', 'trigger-ops-untag'] });
    const firewall = await api.createFirewall({ name: 'tops-untag-fw', inboundRules: [{ protocol: 'tcp', ports: '22', addresses: ['0.0.0.0/0'] }], outboundRules: [], tags: ['trigger-ops-untag'] });
    assert.equal(await api.deleteTag('trigger-ops-untag'), true);
    assert.equal(await api.deleteTag('trigger-ops-untag'), false);
    assert.deepEqual((await api.getDroplet(droplet.id)).tags, ['trigger-ops']);
    assert.deepEqual((await api.findFirewallByName('tops-untag-fw'))?.tags, []);
    assert.ok(!sandbox.inspect().tags.includes('trigger-ops-untag'));
    await api.deleteFirewall(firewall.id);
    await api.deleteDroplet(droplet.id);
  });

  it('deletes a droplet: 404 afterwards, mapped to NotFound, and a second delete is tolerated', async () => {
    const { droplet } = await api.createDroplet({ name: 'tops-del', region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' });
    assert.equal(await api.deleteDroplet(droplet.id), true);
    assert.equal(await api.deleteDroplet(droplet.id), false);
    const { error, failure } = await failureOf(api.getDroplet(droplet.id));
    assert.equal(error.status, 404);
    assert.equal(failure.type, ErrorType.NotFound);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /The resource you were accessing could not be found/);
    await until(async () => hosts.calls, (calls) => calls.includes(`destroy ${droplet.id}`));
  });

  it('creates, finds, extends and deletes a firewall that applies by droplet id and by tag', async () => {
    await api.ensureTag('tops-fw');
    await api.ensureTag('tops-fw');
    const byTag = await api.createDroplet({ name: 'tops-fw-a', region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04', tags: ['tops-fw'] });
    const byId = await api.createDroplet({ name: 'tops-fw-b', region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04' });
    const created = await api.createFirewall({
      name: 'tops-fw-firewall',
      inboundRules: [{ protocol: 'tcp', ports: '22', addresses: ['203.0.113.4/32'] }],
      outboundRules: [
        { protocol: 'tcp', ports: '0', addresses: ['0.0.0.0/0', '::/0'] },
        { protocol: 'icmp', ports: '0', addresses: ['0.0.0.0/0', '::/0'] },
      ],
      tags: ['tops-fw'],
    });
    const found = await api.findFirewallByName('tops-fw-firewall');
    assert.deepEqual(found, created);
    assert.equal(await api.findFirewallByName('tops-no-such-firewall'), undefined);
    await api.addDropletsToFirewall(created.id, [byId.droplet.id]);
    const state = sandbox.inspect().firewalls.find((f) => f['id'] === created.id);
    assert.deepEqual([...(state?.appliesToDropletIds ?? [])].sort(), [byTag.droplet.id, byId.droplet.id].sort());
    assert.deepEqual((await api.findFirewallByName('tops-fw-firewall'))?.dropletIds, [byId.droplet.id]);

    const missing = await failureOf(api.addDropletsToFirewall(created.id, [1]));
    assert.equal(missing.failure.type, ErrorType.Rejected);
    assert.equal(await api.deleteFirewall(created.id), true);
    assert.equal(await api.deleteFirewall(created.id), false);
  });

  it('manages account SSH keys by name and by DigitalOcean-style MD5 fingerprint', async () => {
    const key = sshPublicKey('ssh-keys@test');
    const created = await api.createSshKey({ name: 'tops-ssh-key', publicKey: key.line });
    assert.equal(created.fingerprint, key.md5);
    assert.deepEqual(await api.findSshKeyByFingerprint(key.md5), created);
    assert.deepEqual(await api.findSshKeyByName('tops-ssh-key'), created);
    const duplicate = await failureOf(api.createSshKey({ name: 'again', publicKey: key.line }));
    assert.equal(duplicate.failure.type, ErrorType.Rejected);
    const invalid = await failureOf(api.createSshKey({ name: 'bad', publicKey: 'ssh-ed25519 not-a-key' }));
    assert.equal(invalid.error.status, 422);
    assert.equal(await api.deleteSshKey(created.fingerprint), true);
    assert.equal(await api.deleteSshKey(created.id), false);
    assert.equal(await api.findSshKeyByFingerprint(key.md5), undefined);
    assert.equal(await api.findSshKeyByName('tops-ssh-key'), undefined);
  });

  it('reads the account, regions, sizes with prices, and images by slug', async () => {
    assert.equal((await api.getAccount()).status, 'active');
    assert.equal((await api.getRegion('nyc3'))?.available, true);
    assert.equal(await api.getRegion('mars1'), undefined);
    const size = await api.getSize('s-2vcpu-4gb');
    assert.equal(size?.priceMonthly, 24);
    assert.ok((size?.priceHourly ?? 0) > 0);
    assert.equal((await api.listSizes()).some((s) => s.slug === 's-1vcpu-1gb'), true);
    assert.equal((await api.getImage('docker-20-04')).slug, 'docker-20-04');
    const unknown = await failureOf(api.getImage('docker-99-04'));
    assert.equal(unknown.failure.type, ErrorType.NotFound);
  });

  it('refuses a resize while the droplet is on (Rejected) and resizes once it is off', async () => {
    const { droplet, createActionId } = await api.createDroplet({ name: 'tops-resize', region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04' });
    await until(() => api.getAction(createActionId ?? 0), (a) => a.status === 'completed');
    const refused = await failureOf(api.dropletAction(droplet.id, { type: 'resize', size: 's-2vcpu-4gb' }));
    assert.equal(refused.error.status, 422);
    assert.equal(refused.failure.type, ErrorType.Rejected);
    assert.equal(refused.failure.nonRetryable, true);
    assert.match(refused.failure.message, /Droplet is currently on\. Please power it off/);

    const off = await api.dropletAction(droplet.id, { type: 'power_off' });
    assert.equal(off.status, 'in-progress');
    const busy = await failureOf(api.dropletAction(droplet.id, { type: 'power_on' }));
    assert.match(busy.error.message, /pending event/);
    await until(() => api.getAction(off.id), (a) => a.status === 'completed');
    assert.equal((await api.getDroplet(droplet.id)).status, 'off');

    const resize = await api.dropletAction(droplet.id, { type: 'resize', size: 's-2vcpu-4gb' });
    await until(() => api.getAction(resize.id), (a) => a.status === 'completed');
    const on = await api.dropletAction(droplet.id, { type: 'power_on' });
    await until(() => api.getAction(on.id), (a) => a.status === 'completed');
    const resized = await api.getDroplet(droplet.id);
    assert.equal(resized.size, 's-2vcpu-4gb');
    assert.equal(resized.status, 'active');
    assert.ok(hosts.calls.includes(`powerOff ${droplet.id}`) && hosts.calls.includes(`powerOn ${droplet.id}`));
  });

  it('ends the create action errored when a droplet_boot fault is injected', async () => {
    sandbox.faults.failNext('droplet_boot', 1, { status: 500 });
    const { droplet, createActionId } = await api.createDroplet({ name: 'tops-boot-fail', region: 'nyc3', size: 's-1vcpu-1gb', image: 'docker-20-04' });
    const action = await until(() => api.getAction(createActionId ?? 0), (a) => a.status !== 'in-progress');
    assert.equal(action.status, 'errored');
    assert.equal((await api.getDroplet(droplet.id)).status, 'new');
    await api.deleteDroplet(droplet.id);
  });

  it('maps an injected 500 to a retryable Unavailable, and the retry succeeds', async () => {
    sandbox.faults.failNext('account_get', 1, { status: 500 });
    const { error, failure } = await failureOf(api.getAccount());
    assert.equal(error.status, 500);
    assert.equal(failure.type, ErrorType.Unavailable);
    assert.equal(failure.nonRetryable, false);
    assert.equal((await api.getAccount()).status, 'active');
  });

  it('maps a response slower than the client timeout to Unavailable', async () => {
    const impatient = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url, ca: sandbox.ca, timeoutMs: 150 });
    sandbox.faults.failNext('account_get', 1, { hangMs: 600 });
    const { error, failure } = await failureOf(impatient.getAccount());
    assert.equal(error.status, undefined);
    assert.equal(error.details.code, 'ECONNABORTED');
    assert.equal(failure.type, ErrorType.Unavailable);
    assert.equal(failure.nonRetryable, false);
  });

  it('maps an injected 429 to RateLimited with the server retry-after as next retry delay', async () => {
    sandbox.faults.failNext('droplets_list', 1, { status: 429, retryAfterSeconds: 7 });
    const { error, failure } = await failureOf(api.listDropletsByTag('anything'));
    assert.equal(error.retryAfterSeconds, 7);
    assert.equal(failure.type, ErrorType.RateLimited);
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, '7s');
  });

  it('rejects a wrong token with 401 mapped to a non-retryable AuthError that does not contain the token', async () => {
    const wrongToken = 'dop_v1_wrong_token_0123456789';
    const intruder = createDigitalOceanApi({ token: wrongToken, apiUrl: sandbox.url, ca: sandbox.ca });
    const { error, failure } = await failureOf(intruder.getAccount());
    assert.equal(error.status, 401);
    assert.equal(error.details.code, 'unauthorized');
    assert.equal(failure.type, ErrorType.AuthError);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /Unable to authenticate you/);
    assert.ok(!failure.message.includes(wrongToken) && !JSON.stringify(failure.details).includes(wrongToken));
    assert.ok(!error.message.includes(wrongToken) && !(error.stack ?? '').includes(wrongToken));
  });

  it('maps a refused connection to Unavailable', async () => {
    const nowhere = createDigitalOceanApi({ token: sandbox.token, apiUrl: 'https://127.0.0.1:1', timeoutMs: 500 });
    const { failure } = await failureOf(nowhere.getAccount());
    assert.equal(failure.type, ErrorType.Unavailable);
    assert.ok(!failure.message.includes(sandbox.token));
  });
});

describe('DigitalOcean rate limits', () => {
  it('sends ratelimit headers on every response and answers the burst limit with 429 and retry-after', async () => {
    const sandbox = await startDigitalOceanApi({ rateLimit: { perMinute: 3, perHour: 10 } });
    try {
      const fetch = fetchTrusting(sandbox.ca);
      const get = () => fetch(`${sandbox.url}/v2/account`, { headers: { authorization: `Bearer ${sandbox.token}` } });
      const first = await get();
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('ratelimit-limit'), '10');
      assert.equal(first.headers.get('ratelimit-remaining'), '9');
      assert.ok(Number(first.headers.get('ratelimit-reset')) > Date.now() / 1000);
      await get();
      await get();
      const limited = await get();
      assert.equal(limited.status, 429);
      assert.deepEqual(Object.keys((await limited.json()) as object).sort(), ['id', 'message', 'request_id']);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`);
      assert.equal(limited.headers.get('ratelimit-remaining'), '7');

      const api = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url, ca: sandbox.ca });
      const { failure } = await failureOf(api.getAccount());
      assert.equal(failure.type, ErrorType.RateLimited);
      assert.match(String(failure.nextRetryDelay), /^\d+s$/);
      assert.deepEqual(sandbox.inspect().validationErrors, []);
    } finally {
      await sandbox.close();
    }
  });
});
