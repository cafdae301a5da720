import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { freePort } from '../../src/controller/ports';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');

function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

it('npm start runs the controller on the sandbox: it deploys with progress and a summary, and Ctrl-C stops everything it started', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trigger-ops-start-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/root',
        TRIGGER_OPS_DATA_DIR: dataDir,
        TEMPORAL_DEV_PORT: String(await freePort()),
        TEMPORAL_DEV_UI_PORT: String(await freePort()),
        PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await waitFor('the controller to be running', () => (/controller running/.test(out) ? true : undefined), 120_000, 200);
    assert.match(out, /No DigitalOcean or Railway credentials: starting the sandbox/);
    for (const step of ['railway-preflight', 'worker-token', 'ssh-key', 'firewall', 'droplet', 'cloud-init', 'supervisor-config', 'health-gate', 'hand-over']) {
      assert.match(out, new RegExp(`✓ ${step}\\b`));
    }
    assert.match(out, /reconcile: "sandbox" matches the desired state: tops-sandbox-g1, supervisor v4\.5\.11/);
    assert.match(out, /Installation "sandbox": /);
    assert.match(out, /status page: http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(processesMentioning(dataDir).length > 0, 'the embedded Temporal server runs with its state in the data dir');

    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /tearing down the sandbox installation "sandbox"/);
    assert.doesNotMatch(out, /teardown: /, 'the teardown succeeded');
    await waitFor('no process left', () => (processesMentioning(dataDir).length === 0 ? true : undefined), 10_000, 100);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
