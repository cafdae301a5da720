import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');
const OPERATIONS = ['deploy', 'heal_healthy', 'heal_repair', 'upgrade', 'migrate', 'teardown'];
const SYSTEMS = ['digitalocean', 'railway', 'ssh', 'webapp'];

/** Runs the bench as `npm run bench` does (without the setup step the test run has already done); resolves with stdout. */
function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'bench-lifecycle.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const positive = (what: string, n: unknown) => assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${what} is a positive number: ${String(n)}`);

describe('npm run bench', () => {
  it('--quick --json prints one JSON object with every operation, its floor and ratio, the scale run and the targets', { timeout: 240_000 }, async () => {
    const { code, stdout, stderr } = await runBench(['--quick', '--json']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, `exactly one line on stdout:\n${stdout}`);
    const report = JSON.parse(lines[0] ?? '') as {
      operations: Record<string, { wall_ms: number; external_ms: number; overhead_ms: number; calls: Record<string, number> }>;
      floor: Record<string, { wall_ms: number }>;
      overhead_ratio: Record<string, number>;
      upgrade_unavailability: Record<string, number>;
      kill_to_healthy: Record<string, number>;
      migrations: { count: number; rtt_ms: Record<string, { ours_s: number; psql_per_file_s: number | null; ratio: number | null; ours_round_trips: number }> };
      targets: { target: string; met: boolean }[];
      scale: Record<string, number> & { heal_outcomes: Record<string, number> };
    };
    for (const op of OPERATIONS) {
      const o = report.operations[op];
      assert.ok(o, `operations.${op}`);
      positive(`${op}.wall_ms`, o.wall_ms);
      positive(`${op}.external_ms`, o.external_ms);
      assert.ok(Number.isFinite(o.overhead_ms) && Math.abs(o.wall_ms - o.external_ms - o.overhead_ms) < 1, `${op}: overhead = wall − external`);
      assert.deepEqual(Object.keys(o.calls).sort(), [...SYSTEMS].sort());
      positive(`floor.${op}.wall_ms`, report.floor[op]?.wall_ms);
      assert.ok(Number.isFinite(report.overhead_ratio[op]), `overhead_ratio.${op}`);
    }
    assert.ok((report.operations['heal_healthy']?.calls['ssh'] ?? 0) >= 1, 'a heal check opens an SSH session');
    assert.ok((report.operations['deploy']?.calls['digitalocean'] ?? 0) >= 1, 'a deploy calls DigitalOcean');
    for (const [k, v] of Object.entries({ ...report.upgrade_unavailability, ...report.kill_to_healthy })) positive(k, v);
    assert.ok(report.targets.some((t) => t.target.includes('SSH session')) && report.targets.every((t) => typeof t.met === 'boolean'));
    // The migrations section: our applier on a real PostgreSQL at 0 and 20 ms RTT (--quick leaves psql per file out).
    assert.equal(report.migrations.count, 819);
    assert.deepEqual(Object.keys(report.migrations.rtt_ms), ['0', '20']);
    for (const [rtt, m] of Object.entries(report.migrations.rtt_ms)) {
      positive(`migrations.rtt_ms.${rtt}.ours_s`, m.ours_s);
      positive(`migrations.rtt_ms.${rtt}.ours_round_trips`, m.ours_round_trips);
      assert.equal(m.psql_per_file_s, null);
    }
    assert.ok((report.migrations.rtt_ms['20']?.ours_s ?? 0) > (report.migrations.rtt_ms['0']?.ours_s ?? 0), 'latency costs time');
    assert.ok(report.targets.some((t) => t.target.startsWith('migrations:')));

    // The tiny scale run: 3 installations healed by their own schedules on a worker process of their own.
    const sc = report.scale;
    assert.equal(sc['installations'], 3);
    assert.ok((sc['heal_runs'] ?? 0) >= 3, `every installation's schedule started a heal run: ${JSON.stringify(sc)}`);
    assert.ok((sc['heal_checks'] ?? 0) >= 3, `the heal runs' checks were recorded: ${JSON.stringify(sc)}`);
    assert.deepEqual(Object.keys(sc.heal_outcomes), ['succeeded'], 'every check of a healthy light droplet found it healthy');
    assert.ok((sc['do_calls'] ?? Infinity) < (sc['heal_checks'] ?? 0), `heal checks share the DigitalOcean list read: ${sc['do_calls']} calls for ${sc['heal_checks']} checks`);
    assert.equal(sc['ssh_refused_commands'], 0, 'a healthy check asks a droplet only what a light droplet answers');
    for (const k of ['lag_p50_ms', 'lag_p99_ms', 'heal_p50_ms', 'heal_p99_ms', 'worker_rss_mb', 'worker_cpu_pct', 'server_cpu_pct']) {
      assert.ok(Number.isFinite(sc[k]) && (sc[k] ?? -1) >= 0, `scale.${k}: ${String(sc[k])}`);
    }
    assert.equal(sc['skipped'], sc['skipped_missed_catchup']! + sc['skipped_overlap']!);
  });
});
