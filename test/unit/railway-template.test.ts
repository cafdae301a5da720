// docs/railway-template.md is what a person publishes as the Railway template: its variables must be ones the
// controller reads, its generated values must pass the controller's own validation once Railway's template functions
// ran, and what it says of railway.json must be what railway.json says.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envSchema, loadConfig } from '../../src/config';
import { desiredFromConfig } from '../../src/controller/desired-state';
import { SERVICE_NAMES } from '../../sandbox/railway/seed';

const root = join(__dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'railway-template.md'), 'utf8');
const railwayJson = JSON.parse(readFileSync(join(root, 'railway.json'), 'utf8')) as { deploy: Record<string, unknown> };

/** The rows of a marked table: first cell without backticks, second cell as written. */
function table(name: string): Array<[string, string]> {
  const match = new RegExp(`<!-- template:${name}:start -->\\n([\\s\\S]*?)<!-- template:${name}:end -->`).exec(doc);
  assert.ok(match?.[1], `docs/railway-template.md has no ${name} table`);
  return match[1]
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l.split(' | ').map((c) => c.replace(/^\| /, '').trim());
      return [cells[0]!.replace(/`/g, ''), cells[1] ?? ''];
    });
}

/** Railway's `secret(length?, alphabet?)` template function, as the docs describe it (32 characters by default). */
function evaluateTemplateFunctions(value: string): string {
  return value.replace(/\$\{\{secret\((?:(\d+)(?:, "([^"]+)")?)?\)\}\}/g, (_m, length: string | undefined, alphabet: string | undefined) => {
    const chars = alphabet ?? 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return Array.from({ length: Number(length ?? 32) }, () => chars[randomInt(chars.length)]).join('');
  });
}

describe('docs/railway-template.md', () => {
  const controller = table('trigger-ops');

  it('names only variables the controller reads, and asks the user for exactly the two tokens', () => {
    for (const [name] of controller) assert.ok(name in envSchema.shape, `${name} is not in src/config/schema.ts`);
    const asked = controller.filter(([, value]) => value === '*asked from the user*').map(([name]) => name);
    assert.deepEqual(asked.sort(), ['DIGITALOCEAN_TOKEN', 'RAILWAY_TOKEN']);
    for (const name of ['TRIGGER_OPS_SECRET_KEY', 'TRIGGER_OPS_CODEC_KEY', 'TRIGGER_OPS_DATA_DIR']) {
      assert.ok(controller.some(([n]) => n === name), `the template must set ${name}`);
    }
  });

  it('gives values the controller accepts once Railway has run its template functions', () => {
    const env: Record<string, string> = {
      // What Railway injects into the service.
      PORT: '8080',
      RAILWAY_PROJECT_ID: 'c0ffee00-0000-4000-8000-000000000001',
      RAILWAY_ENVIRONMENT_ID: 'c0ffee00-0000-4000-8000-000000000002',
      RAILWAY_SERVICE_ID: 'c0ffee00-0000-4000-8000-000000000003',
    };
    for (const [name, value] of controller) {
      env[name] = value === '*asked from the user*' ? `user-supplied-${name.toLowerCase()}` : evaluateTemplateFunctions(value.replace(/^`|`$/g, ''));
    }
    const config = loadConfig(env);
    assert.equal(Buffer.from(config.codecKey ?? '', 'base64').length, 32, 'TRIGGER_OPS_CODEC_KEY is base64 of 32 bytes');
    assert.ok((config.secretKey ?? '').length >= 32);
    assert.equal(config.dataDir, '/data');
    const desired = desiredFromConfig(config, 'default');
    assert.ok('desired' in desired, 'problem' in desired ? desired.problem : '');
  });

  it('says what railway.json says', () => {
    assert.ok(doc.includes(`\`${String(railwayJson.deploy['startCommand'])}\``), 'start command');
    assert.ok(doc.includes(`\`${String(railwayJson.deploy['healthcheckPath'])}\``), 'health check path');
    assert.ok(doc.includes(`volume mount \`${String(railwayJson.deploy['requiredMountPath'])}\``), 'volume mount');
    assert.ok(doc.includes(`${String(railwayJson.deploy['drainingSeconds'])} s of draining`), 'draining');
  });

  it('lists the Trigger.dev services by the names their reference variables use', () => {
    const services = table('webapp').map(([name]) => name);
    assert.deepEqual([...services], Object.values(SERVICE_NAMES).filter((n) => n !== SERVICE_NAMES.controller));
    for (const [, ref] of doc.matchAll(/\$\{\{([^.}]+)\.[A-Z_]+\}\}/g)) assert.ok(services.includes(ref!), `\${{${ref}.…}} names no service`);
  });
});
