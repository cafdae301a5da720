import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createDigitalOceanApi, type DigitalOceanApi } from '../../src/activities/digitalocean';
import { HANDLERS } from '../../sandbox/digitalocean/handlers';
import { digitalOceanSpec, startDigitalOceanApi, type DigitalOceanSandbox } from '../../sandbox/digitalocean';
import { fetchTrusting } from '../helpers/https';
import vendored from '../../vendor/digitalocean/openapi.json';

function sshPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length, 0);
    return Buffer.concat([length, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} contract@test`;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the vendored DigitalOcean spec', () => {
  it('is self-contained: every $ref points at a schema inside the file', () => {
    const schemas = (vendored as { components: { schemas: Record<string, unknown> } }).components.schemas;
    const refs = [...JSON.stringify(vendored).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      assert.match(ref, /^#\/components\/schemas\//);
      assert.ok(ref.slice('#/components/schemas/'.length) in schemas, `dangling ${ref}`);
    }
  });

  it('has a stand-in handler for every operation it keeps, and nothing else', () => {
    const operations = digitalOceanSpec().operations.map((o) => o.operationId).sort();
    assert.deepEqual(Object.keys(HANDLERS).sort(), operations);
  });

  it('flags a response that does not match the spec', () => {
    const problem = digitalOceanSpec().validateResponse('droplets_get', 200, { droplet: { id: 'seven' } });
    assert.match(problem ?? '', /^response 200 body: \/droplet/);
    assert.equal(digitalOceanSpec().validateResponse('droplets_get', 404, { id: 'not_found', message: 'gone' }), undefined);
  });
});

describe('requests the spec does not allow', () => {
  let sandbox: DigitalOceanSandbox;
  let fetch: ReturnType<typeof fetchTrusting>;
  before(async () => {
    sandbox = await startDigitalOceanApi({ bootDelayMs: 10, actionDelayMs: 10 });
    fetch = fetchTrusting(sandbox.ca);
  });
  after(() => sandbox.close());

  async function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>) };
  }

  const cases: readonly (readonly [string, string, string, unknown, string])[] = [
    ['a wrong type', 'POST', '/v2/droplets', { name: 'a', size: 1, image: 'docker-20-04' }, 'request body: /size must be string'],
    ['a missing required field', 'POST', '/v2/droplets', { name: 'a', image: 'docker-20-04' }, "request body: must have required property 'size'"],
    ['a name against the pattern', 'POST', '/v2/droplets', { name: 'bad name!', size: 's-1vcpu-1gb', image: 'docker-20-04' }, 'request body: /name must match pattern'],
    ['a resize with a numeric size', 'POST', '/v2/droplets/5/actions', { type: 'resize', size: 2 }, 'request body: /size must be string'],
    ['a firewall rule with an unknown protocol', 'POST', '/v2/firewalls', { name: 'fw', inbound_rules: [{ protocol: 'sctp', ports: '22', sources: {} }] }, 'request body: /inbound_rules/0/protocol must be one of "tcp", "udp", "icmp"'],
    ['a page size above the maximum', 'GET', '/v2/droplets?per_page=500', undefined, 'query: /per_page must be <= 200'],
    ['a non-numeric droplet id', 'GET', '/v2/droplets/abc', undefined, 'path: /droplet_id must be integer'],
    ['a delete by tag without the tag', 'DELETE', '/v2/droplets', undefined, "query: must have required property 'tag_name'"],
  ];

  for (const [what, method, path, body, message] of cases) {
    it(`rejects ${what} with 422 and a message from the spec`, async () => {
      const res = await send(method, path, body);
      assert.equal(res.status, 422);
      assert.equal(res.body['id'], 'unprocessable_entity');
      assert.ok(String(res.body['message']).startsWith(message), `${String(res.body['message'])} should start with ${message}`);
      assert.equal(typeof res.body['request_id'], 'string');
    });
  }

  it('answers a path it does not serve with 404 not_found, whatever the method, as the real API does', async () => {
    for (const [method, path] of [['GET', '/v2/foo'], ['POST', '/v2/droplets/5/nonsense'], ['DELETE', '/v3/droplets']] as const) {
      const res = await send(method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body['id'], 'not_found');
    }
  });

  it('ignores what the real API ignores (unknown fields and query parameters, nulls, a body on DELETE, a trailing slash) and reports it', async () => {
    const key = (await send('POST', '/v2/account/keys', { name: 'lenient', public_key: sshPublicKey(), color: 'blue' }));
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const created = await send('POST', '/v2/droplets/', {
      name: 'lenient-1', region: 'fra1', size: 's-1vcpu-1gb', image: 'docker-20-04', vpc_uuid: null, volumes: null, backups: false, ipv6: false, tags: null, user_data: null, with_droplet_agent: null, sizes: 'x',
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = (created.body['droplet'] as { id: number }).id;
    assert.equal((await send('GET', `/v2/droplets/${id}?per_page=1&page=1`)).status, 200);
    assert.equal((await send('GET', '/v2/droplets?tag=x')).status, 200);
    await until(() => send('GET', `/v2/droplets/${id}`), (r) => (r.body['droplet'] as { status: string }).status === 'active');
    const power = await send('POST', `/v2/droplets/${id}/actions`, { type: 'power_off', size: 'x' });
    assert.equal(power.status, 201, JSON.stringify(power.body));
    assert.equal((await send('DELETE', `/v2/account/keys/${(key.body['ssh_key'] as { id: number }).id}`, { force: true })).status, 204);
    assert.deepEqual(
      sandbox.inspect().ignoredRequestParts.map((p) => p.replace(/\/\d+/g, '/N')),
      [
        'POST /v2/account/keys: body field "/color"',
        'POST /v2/droplets/: body field "/sizes"',
        'GET /v2/droplets/N: query parameter "per_page"',
        'GET /v2/droplets/N: query parameter "page"',
        'GET /v2/droplets: query parameter "tag"',
        'POST /v2/droplets/N/actions: body field "/size"',
        'DELETE /v2/account/keys/N: a request body (the operation takes none)',
      ],
    );
  });

  it('answers a missing token with 401 in DigitalOcean shape', async () => {
    const res = await fetch(`${sandbox.url}/v2/account`);
    assert.equal(res.status, 401);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['id'], 'unauthorized');
    assert.equal(body['message'], 'Unable to authenticate you');
    assert.equal(typeof body['request_id'], 'string');
  });
});

describe('the routes a user inspecting the sandbox calls, answered as the spec says', () => {
  let sandbox: DigitalOceanSandbox;
  let fetch: ReturnType<typeof fetchTrusting>;
  before(async () => {
    sandbox = await startDigitalOceanApi({ bootDelayMs: 10, actionDelayMs: 10 });
    fetch = fetchTrusting(sandbox.ca);
  });
  after(() => sandbox.close());

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const active = async (id: number) =>
    until(() => call('GET', `/v2/droplets/${id}`), (r) => (r.body['droplet'] as { status: string }).status === 'active');

  it('reflects the create request: ipv6 and monitoring as features and addresses, a private VPC address', async () => {
    const created = await call('POST', '/v2/droplets', { name: 'reflect-1', region: 'fra1', size: 's-1vcpu-1gb', image: 'docker-20-04', ipv6: true, monitoring: true });
    const id = (created.body['droplet'] as { id: number }).id;
    const droplet = (await active(id)).body['droplet'] as { features: string[]; networks: { v4: { type: string; ip_address: string }[]; v6: { type: string }[] } };
    assert.deepEqual([...droplet.features].sort(), ['droplet_agent', 'ipv6', 'monitoring', 'private_networking']);
    assert.deepEqual(droplet.networks.v4.map((n) => n.type), ['public', 'private']);
    assert.match(droplet.networks.v4[1]?.ip_address ?? '', /^10\.110\./);
    assert.deepEqual(droplet.networks.v6.map((n) => n.type), ['public']);
    const plain = await call('POST', '/v2/droplets', { name: 'reflect-2', region: 'fra1', size: 's-1vcpu-1gb', image: 'docker-20-04' });
    const other = (await active((plain.body['droplet'] as { id: number }).id)).body['droplet'] as { features: string[]; networks: { v6: unknown[] } };
    assert.deepEqual([...other.features].sort(), ['droplet_agent', 'private_networking']);
    assert.deepEqual(other.networks.v6, []);
  });

  it("lists images, a droplet's actions and firewalls; a new firewall is waiting, then succeeded", async () => {
    const images = await call('GET', '/v2/images?type=application&per_page=50');
    assert.ok((images.body['images'] as { slug: string }[]).some((i) => i.slug === 'docker-20-04'));
    assert.ok(!(images.body['images'] as { slug: string }[]).some((i) => i.slug === 'ubuntu-24-04-x64'));
    assert.deepEqual((await call('GET', '/v2/images?private=true')).body['images'], []);
    const created = await call('POST', '/v2/droplets', { name: 'lists-1', region: 'fra1', size: 's-1vcpu-1gb', image: 'docker-20-04', tags: ['web'] });
    const id = (created.body['droplet'] as { id: number }).id;
    await active(id);
    await call('POST', `/v2/droplets/${id}/actions`, { type: 'power_off' });
    const actions = (await call('GET', `/v2/droplets/${id}/actions`)).body['actions'] as { type: string }[];
    assert.deepEqual(actions.map((a) => a.type), ['power_off', 'create']);
    const fw = await call('POST', '/v2/firewalls', { name: 'lists-fw', tags: ['web'], inbound_rules: [{ protocol: 'tcp', ports: '22', sources: { addresses: ['0.0.0.0/0'] } }] });
    assert.equal((fw.body['firewall'] as { status: string }).status, 'waiting');
    const onDroplet = (await call('GET', `/v2/droplets/${id}/firewalls`)).body['firewalls'] as { name: string }[];
    assert.deepEqual(onDroplet.map((f) => f.name), ['lists-fw']);
    const fwId = (fw.body['firewall'] as { id: string }).id;
    await until(() => call('GET', `/v2/firewalls/${fwId}`), (r) => (r.body['firewall'] as { status: string }).status === 'succeeded');
    assert.equal((await call('GET', '/v2/droplets/999/actions')).status, 404);
  });

  it('destroys with associated resources (selective; dangerous only with X-Dangerous: true) and reports the status', async () => {
    const make = async (name: string) => (await call('POST', '/v2/droplets', { name, region: 'fra1', size: 's-1vcpu-1gb', image: 'docker-20-04' })).body['droplet'] as { id: number };
    const a = await make('assoc-1');
    const b = await make('assoc-2');
    assert.deepEqual((await call('GET', `/v2/droplets/${a.id}/destroy_with_associated_resources`)).body, { reserved_ips: [], floating_ips: [], snapshots: [], volumes: [], volume_snapshots: [] });
    assert.equal((await call('GET', `/v2/droplets/${a.id}/destroy_with_associated_resources/status`)).status, 404);
    assert.equal((await call('DELETE', `/v2/droplets/${a.id}/destroy_with_associated_resources/selective`, { volumes: ['vol-1'] })).status, 202);
    const status = (await call('GET', `/v2/droplets/${a.id}/destroy_with_associated_resources/status`)).body;
    assert.equal((status['droplet'] as { name: string }).name, 'assoc-1');
    assert.equal(status['failures'], 1);
    assert.equal((await call('GET', `/v2/droplets/${a.id}`)).status, 404);
    assert.equal((await call('DELETE', `/v2/droplets/${b.id}/destroy_with_associated_resources/dangerous`)).status, 412);
    assert.equal((await call('GET', `/v2/droplets/${b.id}`)).status, 200, 'refused without the header: still there');
    assert.equal((await call('DELETE', `/v2/droplets/${b.id}/destroy_with_associated_resources/dangerous`, undefined, { 'X-Dangerous': 'true' })).status, 202);
    assert.equal((await call('GET', `/v2/droplets/${b.id}`)).status, 404);
  });

  it('serves monitoring metrics of a droplet created with monitoring, as a matrix a minute apart; none without the agent', async () => {
    const mk = async (name: string, monitoring: boolean) =>
      (await call('POST', '/v2/droplets', { name, region: 'fra1', size: 's-2vcpu-4gb', image: 'docker-20-04', monitoring })).body['droplet'] as { id: number };
    const watched = await mk('metrics-1', true);
    const blind = await mk('metrics-2', false);
    sandbox.setUtilization(watched.id, { cpu: 0.5, memory: 0.75 });
    const now = Math.floor(Date.now() / 1000);
    const q = (id: number) => `host_id=${id}&start=${now}&end=${now + 600}`;
    const total = (await call('GET', `/v2/monitoring/metrics/droplet/memory_total?${q(watched.id)}`)).body as { status: string; data: { result: { values: [number, string][] }[] } };
    assert.equal(total.status, 'success');
    assert.equal(total.data.result[0]?.values.length, 11);
    assert.equal(Number(total.data.result[0]?.values[0]?.[1]), 4096 * 1024 * 1024);
    const available = (await call('GET', `/v2/monitoring/metrics/droplet/memory_available?${q(watched.id)}`)).body as typeof total;
    assert.equal(Number(available.data.result[0]?.values[0]?.[1]), 1024 * 1024 * 1024);
    const cpu = (await call('GET', `/v2/monitoring/metrics/droplet/cpu?${q(watched.id)}`)).body as { data: { result: { metric: { mode: string } }[] } };
    assert.ok(cpu.data.result.some((r) => r.metric.mode === 'idle'));
    const bw = await call('GET', `/v2/monitoring/metrics/droplet/bandwidth?${q(watched.id)}&interface=public&direction=outbound`);
    assert.equal(bw.status, 200);
    assert.equal((await call('GET', `/v2/monitoring/metrics/droplet/bandwidth?${q(watched.id)}`)).status, 422, 'interface and direction are required');
    const none = (await call('GET', `/v2/monitoring/metrics/droplet/cpu?${q(blind.id)}`)).body as typeof total;
    assert.deepEqual(none.data.result, []);
  });

  after(() => {
    assert.deepEqual(sandbox.inspect().validationErrors, []);
    assert.deepEqual(sandbox.inspect().internalErrors, []);
  });
});

describe('every adapter call', () => {
  let sandbox: DigitalOceanSandbox;
  let api: DigitalOceanApi;
  before(async () => {
    sandbox = await startDigitalOceanApi({ bootDelayMs: 10, actionDelayMs: 10, validateResponses: true });
    api = createDigitalOceanApi({ token: sandbox.token, apiUrl: sandbox.url, ca: sandbox.ca });
  });
  after(() => sandbox.close());

  it('sends requests the spec accepts and gets responses the spec allows', async () => {
    await api.getAccount();
    await api.listRegions();
    await api.getRegion('fra1');
    await api.getSize('s-1vcpu-1gb');
    await api.getImage('ubuntu-24-04-x64');
    const key = await api.createSshKey({ name: 'tops-contract', publicKey: sshPublicKey() });
    await api.findSshKeyByName('tops-contract');
    await api.findSshKeyByFingerprint(key.fingerprint);
    await api.ensureTag('trigger-ops-contract');
    const { droplet, createActionId } = await api.createDroplet({
      name: 'tops-contract-sup',
      region: 'fra1',
      size: 's-1vcpu-1gb',
      image: 'docker-20-04',
      sshKeys: [key.id],
      tags: ['trigger-ops', 'trigger-ops-contract'],
      userData: '#cloud-config\n{}\n',
    });
    await until(() => api.getAction(createActionId ?? 0), (a) => a.status === 'completed');
    await api.getDroplet(droplet.id);
    await api.listDropletsByTag('trigger-ops-contract');
    const firewall = await api.createFirewall({
      name: 'tops-contract-fw',
      inboundRules: [{ protocol: 'tcp', ports: '22', addresses: ['0.0.0.0/0'] }],
      outboundRules: [{ protocol: 'udp', ports: '0', addresses: ['0.0.0.0/0', '::/0'] }],
      tags: ['trigger-ops-contract'],
    });
    await api.findFirewallByName('tops-contract-fw');
    await api.addDropletsToFirewall(firewall.id, [droplet.id]);
    for (const type of ['shutdown', 'power_on', 'reboot', 'power_cycle', 'power_off'] as const) {
      const action = await api.dropletAction(droplet.id, { type });
      await until(() => api.getAction(action.id), (a) => a.status === 'completed');
    }
    for (const request of [{ type: 'resize', size: 's-2vcpu-4gb' }, { type: 'rebuild', image: 'ubuntu-24-04-x64' }] as const) {
      const action = await api.dropletAction(droplet.id, request);
      await until(() => api.getAction(action.id), (a) => a.status === 'completed');
    }
    await api.deleteFirewall(firewall.id);
    await api.deleteDroplet(droplet.id);
    await api.deleteDropletsByTag('trigger-ops-contract');
    await api.deleteSshKey(key.id);
    await api.getDroplet(droplet.id).catch(() => undefined);

    const { validationErrors, internalErrors, callsByOperation, ignoredRequestParts } = sandbox.inspect();
    assert.deepEqual(validationErrors, []);
    assert.deepEqual(ignoredRequestParts, [], 'our client sends nothing the API would ignore');
    assert.deepEqual(internalErrors, []);
    const used = Object.keys(callsByOperation).sort();
    for (const op of ['account_get', 'regions_list', 'sizes_list', 'images_get', 'sshKeys_create', 'sshKeys_list', 'sshKeys_get', 'sshKeys_delete', 'tags_get', 'tags_create', 'droplets_create', 'actions_get', 'droplets_get', 'droplets_list', 'firewalls_create', 'firewalls_list', 'firewalls_assign_droplets', 'dropletActions_post', 'firewalls_delete', 'droplets_destroy', 'droplets_destroy_byTag']) {
      assert.ok(used.includes(op), `${op} was not exercised`);
    }
  });
});
