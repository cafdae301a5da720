import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { envSchema } from '../../src/config';

const root = join(__dirname, '..', '..');

it('the README configuration table and .env.example list exactly the variables of the config schema', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const table = readme.split('<!-- config-table:start -->')[1]?.split('<!-- config-table:end -->')[0] ?? '';
  const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  const inExample = [...example.matchAll(/^# ([A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
  const schema = Object.keys(envSchema.shape).sort();
  assert.deepEqual(documented, schema);
  assert.deepEqual(inExample, schema);
});

it('the README lists exactly the DigitalOcean token scopes of the operations trigger-ops calls', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = readme.split('<!-- do-scopes:start -->')[1]?.split('<!-- do-scopes:end -->')[0] ?? '';
  const documented = [...block.matchAll(/`([a-z_]+:[a-z]+)`/g)].map((m) => m[1]).sort();
  const spec = JSON.parse(readFileSync(join(root, 'vendor', 'digitalocean', 'openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string; security?: Record<string, string[]>[] }>>;
  };
  // Served by the stand-in for people inspecting the sandbox with other clients; trigger-ops never calls them.
  const standInOnly = /^(images_list|dropletActions_list|dropletActions_post_byTag|droplets_list_firewalls|droplets_list_associatedResources|droplets_destroy_withAssociatedResources\w+|droplets_get_DestroyAssociatedResourcesStatus|monitoring_get_\w+)$/;
  const scopes = new Set<string>();
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) {
      if (standInOnly.test(op.operationId ?? '')) continue;
      for (const sec of op.security ?? []) for (const list of Object.values(sec)) list.forEach((s) => scopes.add(s));
    }
  }
  assert.deepEqual(documented, [...scopes].sort());
});
