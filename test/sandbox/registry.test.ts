import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectDroplet, type DropletConnection } from '../../src/activities/ssh';
import { SANDBOX_SUPERVISOR_IMAGE, SANDBOX_WEBAPP_IMAGE, SANDBOX_WEBAPP_TAG } from '../../sandbox/contracts';
import { createDropletHosts, type DropletHosts } from '../../sandbox/droplets';
import { newestRelease, registryImageRefs, registryTags, releaseTags } from '../../sandbox/registry';
import { shellQuote } from '../../src/remote/agent-commands';
import { freePort } from '../helpers/ports';
import { cloudConfig, dropletSpec, tempBase, testKeys } from './droplets-helpers';

describe('the sandbox image registry: published tags only, refusals in the Docker CLI’s words', () => {
  let hosts: DropletHosts;
  let conn: DropletConnection;

  before(async () => {
    const sshPort = await freePort();
    const keys = testKeys();
    hosts = createDropletHosts({ baseDir: tempBase('registry'), sshPort });
    const { ipv4 } = await hosts.create(dropletSpec(1, cloudConfig(keys)));
    conn = await connectDroplet({ host: ipv4, port: sshPort, username: 'root', privateKey: keys.client.privateKey, pinnedHostKey: keys.host.publicKey, timeoutMs: 3000 });
  });

  after(async () => {
    conn?.dispose();
    await hosts?.close();
  });

  const pull = (ref: string) => conn.run(`docker pull ${shellQuote(ref)}`);

  it('knows Trigger.dev up to v4.5.12 of 2026-08-20, and no v4.5.13; the seeded webapp runs the release before', () => {
    const newest = newestRelease(SANDBOX_SUPERVISOR_IMAGE);
    assert.deepEqual([newest.tag, newest.gitTag, newest.commit], ['v4.5.12', 'v.docker.4.5.12', 'ce40d0259fead12ac2bad8fc6f8ca574b221228a']);
    assert.match(newest.date, /^2026-08-20T/);
    assert.equal(newestRelease(SANDBOX_WEBAPP_IMAGE).tag, 'v4.5.12');
    assert.ok(!registryTags(SANDBOX_SUPERVISOR_IMAGE).some((t) => t.tag === 'v4.5.13'));
    assert.deepEqual(releaseTags(SANDBOX_WEBAPP_IMAGE).slice(-2), [SANDBOX_WEBAPP_TAG, 'v4.5.12']);
  });

  it('serves every vendored tag, and a droplet that pulled them all holds exactly those', async () => {
    const refs = registryImageRefs();
    const script = `for ref in ${refs.map(shellQuote).join(' ')}; do docker pull -q "$ref" >/dev/null 2>&1 || echo "refused $ref"; done`;
    const r = await conn.run(script);
    assert.equal(r.stdout, '', r.stdout);
    assert.deepEqual([...hosts.inspect(1).images].sort(), [...refs].sort());
  });

  it('a tag that was never published: manifest unknown, as on GHCR, and Docker Hub’s longer sentence', async () => {
    for (const ref of [`${SANDBOX_SUPERVISOR_IMAGE}:v4.5.13`, `${SANDBOX_WEBAPP_IMAGE}:v4.5.13`, 'ghcr.io/tecnativa/docker-socket-proxy:v0.3.0']) {
      const r = await pull(ref);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', 'Error response from daemon: manifest unknown\n'], ref);
    }
    const hub = await pull('tecnativa/docker-socket-proxy:v0.3.0');
    assert.deepEqual(
      [hub.code, hub.stderr],
      [1, 'Error response from daemon: manifest for tecnativa/docker-socket-proxy:v0.3.0 not found: manifest unknown: manifest unknown\n'],
    );
  });

  it('a repository that does not exist: GHCR answers as for a private one, Docker Hub says pull access denied', async () => {
    const ghcr = await pull('ghcr.io/triggerdotdev/worker:v4.5.12');
    assert.deepEqual(
      [ghcr.code, ghcr.stderr],
      [1, 'Error response from daemon: Head "https://ghcr.io/v2/triggerdotdev/worker/manifests/v4.5.12": unauthorized\n'],
    );
    const hub = await pull('tecnativa/no-such-proxy:0.3.0');
    assert.deepEqual(
      [hub.code, hub.stderr],
      [
        1,
        "Error response from daemon: pull access denied for tecnativa/no-such-proxy, repository does not exist or may require 'docker login': denied: requested access to the resource is denied\n",
      ],
    );
    assert.ok(!hosts.inspect(1).images.some((i) => i.includes('/worker:') || i.includes('no-such-proxy')));
  });
});
