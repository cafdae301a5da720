// The chaos suite: kills the worker (SIGKILL) at random moments of deploy, upgrade, migrate, heal repair and
// teardown, restarts the Temporal server mid-migrate, loses DigitalOcean's answer to a create, swaps a droplet's host
// key and sends operations at once, then checks that every installation converged (its desired state is what runs, or a torn-down one left nothing), that
// nothing is orphaned or duplicated, and that no secret shows in a decoded history, a log, user data or a file.
//
//   npm run chaos -- [--quick] [--rounds N] [--seed S] [--minutes M] [--json]
//
// Loopback only: the sandbox, a Temporal dev server and `trigger-ops worker` processes on this machine. Bounded:
// `--rounds` (default 10, `--quick` 1) and `--minutes` (default 30) stop it, whichever comes first. Every non-zero
// figure among orphans, duplicates and secret hits, and every run that did not converge, is a failure (exit 1).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import Table from 'cli-table3';
import { seededRandom } from '../sandbox/timings';
import { resourceNames, workflowIds } from '../src/shared/ids';
import type { InstallationStatus } from '../src/shared/lifecycle';
import { deploy } from '../src/workflows';
import { cliWorkerEnv, startWorld, type World } from '../test/helpers/installation';
import { status, waitForStatus } from '../test/helpers/lifecycle';
import type { Spawned } from '../test/helpers/processes';
import { decodedHistory, secretValues } from '../test/helpers/secrets';
import { TEST_CODEC_KEY } from '../test/helpers/temporal';
import { waitFor } from '../test/helpers/wait';
import { WorkerProcesses } from '../test/helpers/worker-process';

export interface ChaosOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly minutes: number;
  /** Called with each run's outcome as it ends. */
  readonly onRun?: (run: RunOutcome) => void;
}

export interface RunOutcome {
  readonly round: number;
  readonly scenario: string;
  readonly installationId: string;
  readonly kills: number;
  readonly converged: boolean;
  readonly orphans: readonly string[];
  readonly duplicates: readonly string[];
  readonly ms: number;
  /** Why it did not converge, or what it checked. */
  readonly note: string;
}

export interface ChaosReport {
  readonly runs: number;
  readonly converged: number;
  readonly kills: number;
  /** Temporal server restarts mid-operation. */
  readonly server_restarts: number;
  readonly orphans: number;
  readonly duplicates: number;
  readonly secret_hits: number;
  /** How many secret values the scan looked for, and in how many places (histories, logs, user data, files). */
  readonly secrets_checked: number;
  readonly places_scanned: number;
  readonly seed: number;
  readonly minutes: number;
  readonly scenarios: readonly RunOutcome[];
  /** What the CLI said where it lost its wait (not failures: the installation's own record is what counts). */
  readonly cli_notes: readonly string[];
  /** Where a secret showed (never the secret itself). */
  readonly secret_places: readonly string[];
}

/** What DigitalOcean holds for an installation, by its tag and names. */
function holdings(world: World, installationId: string) {
  const names = resourceNames(installationId);
  const inspected = world.sandbox.digitalocean.inspect();
  return {
    droplets: inspected.droplets.filter((d) => d.tags.includes(names.tag) || names.generationOf(d.name) !== undefined),
    firewalls: inspected.firewalls.filter((f) => f['name'] === names.firewall),
    keys: inspected.sshKeys.filter((k) => k.name === names.sshKey),
  };
}

function duplicatesOf(names: readonly string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

/** An installation that should be alive: one droplet (the desired one) running the desired version, one firewall, one key. */
function checkAlive(world: World, installationId: string, s: InstallationStatus): { ok: boolean; orphans: string[]; duplicates: string[]; note: string } {
  const held = holdings(world, installationId);
  const desired = s.desired;
  const duplicates = duplicatesOf(held.droplets.map((d) => d.name));
  if (!desired) return { ok: false, orphans: held.droplets.map((d) => d.name), duplicates, note: 'no desired state' };
  const orphans = [
    ...held.droplets.filter((d) => d.id !== desired.droplet.id).map((d) => `droplet ${d.name} (${d.id})`),
    ...held.firewalls.slice(1).map((f) => `firewall ${String(f['name'])}`),
    ...held.keys.slice(1).map((k) => `key ${k.name}`),
  ];
  const running = world.sandbox.webapp.workerInstances().find((i) => i.name === desired.droplet.name)?.workerVersion;
  const problems = [
    held.droplets.some((d) => d.id === desired.droplet.id && d.status === 'active') ? '' : `desired droplet ${desired.droplet.name} is not active`,
    held.firewalls.length === 0 ? 'no firewall' : '',
    held.keys.length === 0 ? 'no key' : '',
    running === desired.supervisorVersion.replace(/^v/, '') ? '' : `runs ${running ?? 'nothing'}, desired ${desired.supervisorVersion}`,
  ].filter(Boolean);
  return { ok: problems.length === 0 && orphans.length === 0, orphans, duplicates, note: problems.join('; ') || `${desired.droplet.name} runs ${desired.supervisorVersion}` };
}

function checkGone(world: World, installationId: string): { ok: boolean; orphans: string[]; duplicates: string[]; note: string } {
  const held = holdings(world, installationId);
  const orphans = [
    ...held.droplets.map((d) => `droplet ${d.name} (${d.id})`),
    ...held.firewalls.map((f) => `firewall ${String(f['name'])}`),
    ...held.keys.map((k) => `key ${k.name}`),
  ];
  const tagLeft = world.sandbox.digitalocean.inspect().tags.includes(resourceNames(installationId).tag);
  return { ok: orphans.length === 0 && !tagLeft, orphans, duplicates: duplicatesOf(held.droplets.map((d) => d.name)), note: tagLeft ? 'the tag is left' : 'nothing left' };
}

const idle = (s: InstallationStatus) => s.current === null && s.queue.length === 0;

/** Runs the chaos suite on a world of its own and returns the figures. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const rand = seededRandom(options.seed);
  const deadline = Date.now() + options.minutes * 60_000;
  // An ambiguous create (its answer lost after the client's 15 s) is waited out for 20 s before creating again.
  const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-chaos-'));
  // A server of its own, its state in a file, so that it can be restarted mid-operation.
  const world = await startWorld({ codecKey: TEST_CODEC_KEY, env: { TRIGGER_OPS_CREATE_SETTLE_SECONDS: '20' }, temporalDbFilename: join(dir, 'temporal.db') });
  const env = { ...(await cliWorkerEnv(world, TEST_CODEC_KEY, dir)), TRIGGER_OPS_CREATE_SETTLE_SECONDS: '20' };
  const fleet = new WorkerProcesses(env);
  const outcomes: RunOutcome[] = [];
  const seenUserData: string[] = [];
  const cliNotes: string[] = [];
  let restarts = 0;
  try {
    await fleet.start();
    for (let round = 1; round <= options.rounds && Date.now() < deadline; round++) {
      const id = `chaos${round}`;
      const cli = (args: readonly string[]) => fleet.cli([...args, '-i', id]);
      /** Runs one scenario: `act` starts it, a kill lands `killWithinMs` in, `settle` waits for its end. */
      const scenario = async (name: string, killWithinMs: number, act: () => Promise<() => Promise<void>>, check: () => Promise<ReturnType<typeof checkAlive>>) => {
        const started = Date.now();
        const killsBefore = fleet.kills;
        let outcome: RunOutcome;
        try {
          const settle = await act();
          if (killWithinMs > 0) {
            await sleep(Math.floor(rand() * killWithinMs));
            // SIGKILL, then a fresh worker: what a crashed container and its restart look like.
            await fleet.kill();
            await fleet.start();
          }
          await settle();
          for (const d of world.sandbox.digitalocean.inspect().droplets) if (d.userData) seenUserData.push(d.userData);
          const result = await check();
          outcome = { round, scenario: name, installationId: id, kills: fleet.kills - killsBefore, converged: result.ok, orphans: result.orphans, duplicates: result.duplicates, ms: Date.now() - started, note: result.note };
        } catch (err) {
          outcome = { round, scenario: name, installationId: id, kills: fleet.kills - killsBefore, converged: false, orphans: [], duplicates: [], ms: Date.now() - started, note: err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err) };
        }
        outcomes.push(outcome);
        options.onRun?.(outcome);
      };
      const alive = async () => checkAlive(world, id, await waitForStatus(world, id, 'the installation to be idle', idle, 180_000));
      const cliDone = (run: Spawned, what: string) => async () => {
        const code = await run.exited;
        if (code !== 0) throw new Error(`${what} exited ${String(code)}: ${run.output().trim().split('\n').slice(-2).join(' / ')}`);
      };

      // 1. Deploy, killed anywhere; every third round the create's answer is lost too (an ambiguous create).
      await scenario(round % 3 === 1 ? 'deploy, ambiguous create' : 'deploy', 8_000, async () => {
        if (round % 3 === 1) world.sandbox.digitalocean.faults.failNext('droplets_create', 1, { hangMs: 17_000 });
        const handle = await world.temporal.client.workflow.start(deploy, {
          taskQueue: world.temporal.taskQueue,
          workflowId: workflowIds.deploy(id),
          args: [{ installationId: id, options: { healthTimeoutSeconds: 60, bootTimeoutSeconds: 60 } }],
        });
        return async () => {
          await handle.result();
          await waitFor('the installation to adopt the deploy', async () => ((await status(world, id)).desired ? true : undefined), 60_000);
          await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).pause('chaos drives the installation');
        };
      }, alive);
      if (!(await status(world, id).catch(() => undefined))?.desired) continue;

      // 2. Upgrade through the CLI (which sends it again until a worker takes it), killed anywhere.
      const target = round % 2 === 0 ? 'v4.5.10' : 'v4.5.12';
      await scenario(`upgrade to ${target}`, 4_000, async () => cliDone(cli(['upgrade', target, '--json']), 'upgrade'), alive);

      // 3. Blue-green migrate, killed anywhere.
      await scenario('migrate to s-4vcpu-8gb', 8_000, async () => cliDone(cli(['migrate', '--size', 's-4vcpu-8gb', '--json']), 'migrate'), alive);

      // 3b. Another migrate, with the Temporal server restarted in the middle of it (its state kept on disk). The CLI
      // may lose its wait for the result; the installation must still end moved or rolled back, and say which.
      await scenario('Temporal server restart during migrate', 0, async () => {
        const run = cli(['migrate', '--size', 's-2vcpu-2gb', '--json']);
        await sleep(Math.floor(rand() * 8_000));
        await world.temporal.restartServer?.();
        restarts++;
        return async () => {
          const code = await run.exited;
          if (code !== 0) cliNotes.push(`migrate CLI exited ${String(code)} across the restart`);
        };
      }, async () => {
        const s = await waitForStatus(world, id, 'the installation to be idle', idle, 180_000);
        const record = s.recent.find((r) => r.kind === 'migrate' && /s-2vcpu-2gb/.test(r.message));
        const result = checkAlive(world, id, s);
        const truthful = record?.outcome === 'succeeded' ? s.desired?.size === 's-2vcpu-2gb' : s.desired?.size !== 's-2vcpu-2gb';
        return {
          ...result,
          ok: result.ok && truthful,
          note: `${record ? `recorded ${record.outcome}` : 'no record'}, size ${s.desired?.size ?? '?'}${truthful ? '' : ' (the record does not say what happened)'}; ${result.note}`,
        };
      });

      // 4. A heal that must repair (Docker stopped on the droplet), killed anywhere.
      let healEventsBefore = 0;
      await scenario('heal repair', 4_000, async () => {
        const s = await status(world, id);
        healEventsBefore = s.healEvents.length;
        if (s.desired) await world.sandbox.droplets.faults.stopDocker(s.desired.droplet.id);
        return cliDone(cli(['heal']), 'heal');
      }, async () => {
        // A check whose repair the kill cut short ends without one; the schedule (paused here) would check again a
        // minute later, so up to two more checks are sent as it would. The note says how many it took.
        let checks = 1;
        const ours = (st: InstallationStatus) => st.healEvents.slice(0, Math.max(0, st.healEvents.length - healEventsBefore));
        let s = await waitForStatus(world, id, 'the heal check', (st) => idle(st) && ours(st).length > 0, 120_000);
        while (!ours(s).some((e) => e.decision === 'repaired') && checks < 3) {
          const before = s.healEvents.length;
          await cliDone(cli(['heal']), 'heal')();
          checks++;
          s = await waitForStatus(world, id, 'the next heal check', (st) => idle(st) && st.healEvents.length > before, 120_000);
        }
        const decisions = ours(s).map((e) => e.decision).reverse().join(' → ');
        const result = checkAlive(world, id, s);
        const repaired = ours(s).some((e) => e.decision === 'repaired');
        return { ...result, ok: result.ok && repaired, note: `${checks} heal check${checks === 1 ? '' : 's'} (${decisions}); ${result.note}` };
      });

      // 5. A droplet that answers with another host key: heal must refuse to talk to it and change nothing.
      await scenario('changed host key', 0, async () => {
        const s = await status(world, id);
        if (s.desired) world.sandbox.droplets.faults.differentHostKey(s.desired.droplet.id);
        return cliDone(cli(['heal']), 'heal');
      }, async () => {
        const refused = (st: InstallationStatus) => st.healEvents.find((e) => e.action === 'operator' && /key/i.test(e.reason));
        const s = await waitForStatus(world, id, 'the refusal', (st) => idle(st) && refused(st) !== undefined, 60_000);
        world.sandbox.droplets.faults.clear();
        const result = checkAlive(world, id, s);
        return { ...result, note: `refused: ${refused(s)?.reason.slice(0, 100) ?? ''}; ${result.note}` };
      });

      // 6. Upgrade, migrate and heal at once, with a kill among them.
      await scenario('concurrent operations', 6_000, async () => {
        const runs = [cli(['upgrade', 'v4.5.11', '--json']), cli(['migrate', '--size', 's-2vcpu-4gb', '--json']), cli(['heal'])];
        return async () => {
          for (const [i, run] of runs.entries()) await cliDone(run, ['upgrade', 'migrate', 'heal'][i] ?? 'op')();
        };
      }, alive);

      // 7. Teardown, killed anywhere: nothing of the installation may be left.
      await scenario('teardown', 4_000, async () => cliDone(cli(['teardown', '--yes', '--json']), 'teardown'), async () => checkGone(world, id));
    }

    // The secret scan: every history (decoded), every log, all user data, every file of the data directory but the store.
    const secrets = secretValues(world);
    const places: string[] = [];
    let scanned = 0;
    const scan = (where: string, text: string) => {
      scanned++;
      for (const secret of secrets) if (secret.length >= 8 && text.includes(secret)) places.push(where);
    };
    for await (const wf of world.temporal.client.workflow.list({ query: `TaskQueue = '${world.temporal.taskQueue}'` })) {
      scan(`history ${wf.workflowId}`, await decodedHistory(world.temporal.client, world.temporal.codec, wf.workflowId).catch(() => ''));
    }
    fleet.spawned.forEach((p, i) => scan(`log of process ${i + 1}`, p.output()));
    seenUserData.forEach((u, i) => scan(`user data ${i + 1}`, u));
    const walk = (path: string): string[] => (statSync(path).isDirectory() ? readdirSync(path).flatMap((n) => walk(join(path, n))) : [path]);
    for (const file of walk(world.dataDir)) if (!file.endsWith('secrets.json')) scan(`file ${file.slice(world.dataDir.length)}`, readFileSync(file, 'utf8'));

    const count = (f: (o: RunOutcome) => number) => outcomes.reduce((n, o) => n + f(o), 0);
    return {
      runs: outcomes.length,
      converged: outcomes.filter((o) => o.converged).length,
      kills: fleet.kills,
      server_restarts: restarts,
      orphans: count((o) => o.orphans.length),
      duplicates: count((o) => o.duplicates.length),
      secret_hits: places.length,
      secrets_checked: secrets.length,
      places_scanned: scanned,
      seed: options.seed,
      minutes: Math.round(((Date.now() - (deadline - options.minutes * 60_000)) / 60_000) * 10) / 10,
      scenarios: outcomes,
      cli_notes: cliNotes,
      secret_places: [...new Set(places)],
    };
  } finally {
    await fleet.close();
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report's verdict: every run converged and nothing was orphaned, duplicated or leaked. */
export function chaosPassed(report: ChaosReport): boolean {
  return report.runs > 0 && report.converged === report.runs && report.orphans === 0 && report.duplicates === 0 && report.secret_hits === 0;
}

async function main(): Promise<void> {
  const program = new Command('chaos')
    .option('--quick', 'one round (the CI-sized run)')
    .option('--rounds <n>', 'rounds of every scenario (default 10; 1 with --quick)')
    .option('--seed <n>', 'seed of the kill moments', String(Date.now() % 100_000))
    .option('--minutes <n>', 'stop starting rounds after this long', '30')
    .option('--json', 'print one JSON object instead of the table')
    .parse();
  const opts = program.opts<{ quick?: boolean; rounds?: string; seed: string; minutes: string; json?: boolean }>();
  const rounds = Number(opts.rounds ?? (opts.quick ? 1 : 10));
  const report = await runChaos({
    rounds,
    seed: Number(opts.seed),
    minutes: Number(opts.minutes),
    onRun: (r) => {
      if (!opts.json) process.stderr.write(`  ${r.converged ? 'ok ' : 'FAIL'} round ${r.round} ${r.scenario} (${r.kills} kill${r.kills === 1 ? '' : 's'}, ${(r.ms / 1000).toFixed(1)} s): ${r.note}\n`);
    },
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const table = new Table({ style: { head: [], border: [] }, head: ['runs', 'converged', 'kills', 'server restarts', 'orphans', 'duplicates', 'secret hits', 'secrets × places', 'seed', 'minutes'] });
    table.push([report.runs, report.converged, report.kills, report.server_restarts, report.orphans, report.duplicates, report.secret_hits, `${report.secrets_checked} × ${report.places_scanned}`, report.seed, report.minutes]);
    process.stdout.write(`${table.toString()}\n`);
    for (const place of report.secret_places) process.stdout.write(`secret found in ${place}\n`);
  }
  process.exitCode = chaosPassed(report) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
