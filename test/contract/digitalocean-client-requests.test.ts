import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDigitalOceanApi, type DigitalOceanSandbox } from '../../sandbox/digitalocean';
import { IMAGES, REGIONS, SIZES } from '../../sandbox/digitalocean/catalog';
import { ensureSandboxTls } from '../../sandbox/tls';
import { fetchTrustingConfig } from '../helpers/https';
import { generateEd25519KeyPair } from '../../src/remote/keys';
import requests from '../../vendor/digitalocean/client-requests.json';

/**
 * DigitalOcean's own documented requests (the cURL samples of its OpenAPI spec, vendored by
 * scripts/vendor-digitalocean-spec.ts into vendor/digitalocean/client-requests.json) replayed against the stand-in:
 * nothing can be recorded against the real API from here, so these are the closest thing to what other clients send.
 *
 * Each request runs against fresh resources of its own, with the sample's ids swapped for theirs (a sample names
 * droplet 3164450; ours has another id) and catalogue values the sandbox does not sell swapped for ones it does
 * (the samples' images and sizes are years old). Everything else is sent as documented: fields, nulls, query
 * parameters, headers. Each must succeed, unless listed in REFUSED with the reason the real API would refuse it too.
 */

interface ClientRequest {
  readonly operationId: string;
  readonly title: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** Samples the real API refuses as well, by operationId and title (or body type), with the status and why. */
const REFUSED: Readonly<Record<string, { readonly status: number; readonly why: string }>> = {
  'dropletActions_post restore': { status: 422, why: 'restore takes a backup of that droplet; the sample names one of another account' },
  'dropletActions_post enable_private_networking': {
    status: 422,
    why: 'every droplet is in a VPC now; the spec keeps the sample but its action types no longer list this one',
  },
  'tags_assign_resources ': { status: 404, why: 'the sample also tags an image and a volume of another account' },
};

const keyOf = (r: ClientRequest) => `${r.operationId} ${(r.body as { type?: string } | null)?.type ?? r.title}`;

describe('DigitalOcean documented client requests, replayed against the stand-in', () => {
  let sandbox: DigitalOceanSandbox;
  let dir: string;
  let fetch: ReturnType<typeof fetchTrustingConfig>;
  let serial = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trigger-ops-do-replay-'));
    const tls = ensureSandboxTls(join(dir, 'tls'));
    // Each sample sets up its own droplet, key and firewall: far more calls a minute than one token may make.
    sandbox = await startDigitalOceanApi({ tls, bootDelayMs: 10, actionDelayMs: 10, rateLimit: { perMinute: 100_000, perHour: 1_000_000 } });
    // Over HTTPS, as other clients reach the real API, trusting the sandbox's CA the way trigger-ops is told to.
    fetch = fetchTrustingConfig({ TRIGGER_OPS_CA_CERTS: tls.caPath });
  });
  after(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sandbox.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined || body === null ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  const waitFor = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** A droplet of its own for one request: active (or off), tagged `awesome`, with monitoring; its create action. */
  const freshDroplet = async (off: boolean) => {
    const created = await call('POST', '/v2/droplets', { name: `replay-${++serial}`, region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', tags: ['awesome'], monitoring: true });
    const droplet = created.body['droplet'] as { id: number };
    const actionId = ((created.body['links'] as { actions: { id: number }[] }).actions[0] as { id: number }).id;
    const status = async () => ((await call('GET', `/v2/droplets/${droplet.id}`)).body['droplet'] as { status: string; locked: boolean });
    await waitFor('the droplet to be active', async () => (await status()).status === 'active');
    if (off) {
      await call('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_off' });
      await waitFor('the droplet to be off', async () => {
        const s = await status();
        return s.status === 'off' && !s.locked;
      });
    }
    return { id: droplet.id, actionId };
  };

  const known = <T extends { slug: string }>(list: readonly T[], value: unknown, fallback: string) =>
    typeof value === 'string' && !list.some((e) => e.slug === value) ? fallback : value;

  /** The sample's body with our ids and catalogue values in place of the sample's. */
  const rewriteBody = (body: unknown, ids: { droplet: number; key: { id: number; fingerprint: string } }, operationId: string): unknown => {
    if (Array.isArray(body)) return body.map((b) => rewriteBody(b, ids, operationId));
    if (typeof body !== 'object' || body === null) return body;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === 'droplet_ids') out[k] = [ids.droplet];
      else if (k === 'ssh_keys') out[k] = [ids.key.id, ids.key.fingerprint];
      else if (k === 'public_key') out[k] = generateEd25519KeyPair('replay').publicKey;
      else if (k === 'resource_id' && (body as { resource_type?: string }).resource_type === 'droplet') out[k] = String(ids.droplet);
      else if (k === 'image' && operationId !== 'dropletActions_post') out[k] = known(IMAGES, v, 'ubuntu-24-04-x64');
      else if (k === 'image' && (body as { type?: string }).type === 'rebuild') out[k] = known(IMAGES, v, 'ubuntu-24-04-x64');
      else if (k === 'size') out[k] = known(SIZES, v, 's-2vcpu-4gb');
      else if (k === 'region') out[k] = known(REGIONS, v, 'nyc3');
      else out[k] = rewriteBody(v, ids, operationId);
    }
    return out;
  };

  const cases = requests as readonly ClientRequest[];

  it('covers every operation the stand-in serves that has a documented sample', () => {
    assert.ok(cases.length >= 60, `only ${cases.length} samples`);
    for (const op of ['droplets_create', 'dropletActions_post', 'firewalls_create', 'monitoring_get_DropletCpuMetrics', 'droplets_destroy_withAssociatedResourcesDangerous', 'images_list', 'tags_delete']) {
      assert.ok(cases.some((c) => c.operationId === op), op);
    }
  });

  for (const sample of cases) {
    const label = `${sample.operationId}${sample.title ? ` (${sample.title})` : ''}: ${sample.method} ${sample.url}`;
    it(label, async () => {
      const type = (sample.body as { type?: string } | null)?.type;
      const droplet = await freshDroplet(type === 'power_on' || type === 'resize');
      const key = (await call('POST', '/v2/account/keys', { name: `replay-key-${serial}`, public_key: generateEd25519KeyPair('replay').publicKey })).body['ssh_key'] as { id: number; fingerprint: string };
      const firewall = (await call('POST', '/v2/firewalls', { name: `replay-fw-${serial}`, inbound_rules: [{ protocol: 'tcp', ports: '22', sources: { addresses: ['0.0.0.0/0'] } }] })).body['firewall'] as { id: string };
      await call('POST', '/v2/tags', { name: 'awesome' });
      if (sample.operationId === 'droplets_get_DestroyAssociatedResourcesStatus') {
        await call('DELETE', `/v2/droplets/${droplet.id}/destroy_with_associated_resources/selective`, {});
      }
      const url = sample.url
        .replace(/^\/v2\/droplets\/\d+/, `/v2/droplets/${droplet.id}`)
        .replace(/\/actions\/\d+$/, `/actions/${droplet.actionId}`)
        .replace(/^\/v2\/account\/keys\/\d+/, `/v2/account/keys/${key.id}`)
        .replace(/^\/v2\/firewalls\/[0-9a-f-]{36}/, `/v2/firewalls/${firewall.id}`)
        .replace(/^\/v2\/images\/\d+$/, `/v2/images/${IMAGES[0]?.id ?? 0}`)
        .replace(/^\/v2\/images\/[a-z][a-z0-9-]*$/, `/v2/images/${IMAGES[0]?.slug ?? ''}`)
        .replace(/host_id=\d+/, `host_id=${droplet.id}`);
      const res = await call(sample.method, url, rewriteBody(sample.body, { droplet: droplet.id, key }, sample.operationId), sample.headers);
      const refused = REFUSED[keyOf(sample)];
      if (refused) {
        assert.equal(res.status, refused.status, `${refused.why}: ${JSON.stringify(res.body)}`);
      } else {
        assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${JSON.stringify(res.body)}`);
      }
      const { validationErrors, internalErrors } = sandbox.inspect();
      assert.deepEqual(validationErrors, []);
      assert.deepEqual(internalErrors, []);
    });
  }
});
