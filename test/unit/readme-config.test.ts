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
