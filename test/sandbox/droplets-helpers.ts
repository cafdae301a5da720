import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateEd25519KeyPair, type SshKeyPair } from '../../src/remote/keys';
import type { DropletSpec } from '../../sandbox/contracts';

export interface TestKeys {
  readonly host: SshKeyPair;
  readonly client: SshKeyPair;
}

export function testKeys(): TestKeys {
  return { host: generateEd25519KeyPair('droplet-host'), client: generateEd25519KeyPair('controller') };
}

export function tempBase(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tops-${prefix}-`));
}

/** A real #cloud-config: pinned host key, root's authorized key, files (plain, b64, deferred) and runcmd. */
export function cloudConfig(keys: TestKeys, extra: Record<string, unknown> = {}): string {
  const doc = {
    disable_root: false,
    ssh_pwauth: false,
    ssh_authorized_keys: [keys.client.publicKey],
    ssh_keys: { ed25519_private: keys.host.privateKey, ed25519_public: keys.host.publicKey },
    package_update: true,
    packages: ['jq'],
    write_files: [
      { path: '/etc/trigger-ops/hello.txt', content: 'hello droplet\n', permissions: '0640', owner: 'root:root' },
      { path: '/etc/trigger-ops/b64.txt', encoding: 'b64', content: Buffer.from('decoded').toString('base64') },
      { path: '/usr/local/bin/deferred-tool', content: '#!/bin/sh\necho deferred ok\n', permissions: '0755', defer: true },
    ],
    runcmd: [
      ['sh', '-c', 'echo "ran in $(pwd) as $(id -un)" > /var/runcmd.txt'],
      'deferred-tool >> /var/runcmd.txt',
      ['systemctl', 'enable', '--now', 'docker'],
    ],
    ...extra,
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

export function dropletSpec(id: number, userData: string | undefined, sshPublicKeys: readonly string[] = []): DropletSpec {
  return {
    id,
    name: `tops-test-${id}`,
    region: 'fra1',
    size: 's-2vcpu-4gb',
    image: 'docker-20-04',
    tags: ['trigger-ops'],
    userData,
    sshPublicKeys,
  };
}

export interface FakePlatform {
  readonly url: string;
  readonly calls: { path: string; status: number; instance: string | undefined; body: string }[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * The worker-actions endpoints the supervisor calls, with the webapp's credential check (401 `Invalid or missing
 * worker token` unless bearer token and managed secret match). A stand-in until the sandbox webapp lands.
 */
export async function startFakePlatform(token: string, secret: string): Promise<FakePlatform> {
  const calls: FakePlatform['calls'] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const path = (req.url ?? '').replace('/engine/v1/worker-actions/', '');
      const instance = req.headers['x-trigger-worker-instance-name'];
      const ok =
        req.headers.authorization === `Bearer ${token}` &&
        req.headers['x-trigger-worker-managed-secret'] === secret &&
        typeof instance === 'string' &&
        instance.length > 0;
      const status = ok ? 200 : 401;
      calls.push({ path, status, instance: typeof instance === 'string' ? instance : undefined, body });
      res.writeHead(status, { 'content-type': 'application/json' });
      if (!ok) return res.end(JSON.stringify({ error: 'Invalid or missing worker token' }));
      if (path === 'connect') return res.end(JSON.stringify({ ok: true, workerGroup: { type: 'MANAGED', name: 'bootstrap' } }));
      if (path === 'dequeue') return void setTimeout(() => res.end('[]'), 100);
      return res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
