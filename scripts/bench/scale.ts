// The bench's scale part (scripts/bench-lifecycle.ts --installations N --minutes M): N installations on one
// `trigger-ops worker` process and one embedded Temporal server, each with its heal schedule, against the sandbox with
// DigitalOcean's real rate limits on. The installations are seeded by adoption: each gets its keys, a worker group
// at the webapp and a pre-made light droplet (sandbox/droplets/light.ts) carrying the configuration deploy would
// have applied, then its installation workflow adopts that deploy result and its heal schedule is created, exactly
// as deploy's hand-over does. Then M minutes of heal cycles are measured from outside the worker: /proc for its CPU
// and RSS (and the Temporal server's CPU), Temporal's visibility for every heal run's scheduled and actual start, each
// installation's status for its checks, the schedules for skipped actions, the sandbox for DigitalOcean requests.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleWorkflows } from '../bundle-workflows';
import { startSandbox, type Sandbox } from '../../sandbox';
import { healScheduleOptions, healScheduleSpec } from '../../src/activities/temporal';
import { createInstallationKeys } from '../../src/activities/secrets/installation-keys';
import type { SecretStore } from '../../src/activities/secrets/store';
import { desiredSupervisorConfig } from '../../src/activities/droplet/supervisor-config';
import { createRailwayApiFromConfig } from '../../src/activities/railway';
import { createWebappClient } from '../../src/activities/trigger';
import { loadConfig } from '../../src/config';
import { readAgentScript } from '../../src/remote/agent-script';
import { buildCloudConfig } from '../../src/remote/cloud-config';
import { DEFAULT_IMAGE, DEFAULT_REGION, DEFAULT_SIZE } from '../../src/shared/deploy';
import { MANAGED_TAG, resourceNames, secretNames, workflowIds } from '../../src/shared/ids';
import { deployedSignal, statusQuery, WORKFLOW_TYPES, type DeployedSignal } from '../../src/shared/installation-messages';
import type { InstallationInput } from '../../src/shared/installation-state';
import { spawnCli, type Spawned } from '../../test/helpers/processes';
import { startTestTemporal, type TestTemporal } from '../../test/helpers/temporal';

export interface ScaleOptions {
  readonly installations: number;
  readonly minutes: number;
  /** The heal schedules' interval (60 s in production; the CI-sized run uses less to see several cycles). */
  readonly healIntervalSeconds: number;
  /** Extra environment of the worker process (e.g. NODE_OPTIONS to bound its heap). */
  readonly workerEnv?: Readonly<Record<string, string>>;
}

/** The version the sandbox's seeded droplets run (its registry serves it). */
const SUPERVISOR_VERSION = 'v4.5.11';
/** The droplet size's shape, as DigitalOcean reports it for s-2vcpu-4gb (it goes into the .env). */
const SIZE_SHAPE = { vcpus: 2, memoryMb: 4096 };
const SEED_CONCURRENCY = 16;
const CLK_TCK = 100;

const note = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number) => Number(n.toFixed(1));

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** A secret store in memory: the seed's keys and tokens, written to the worker's secrets file once at the end. */
function memoryStore(): SecretStore & { readonly data: Record<string, string> } {
  const data: Record<string, string> = {};
  return {
    data,
    get: async (name) => data[name],
    put: async (name, value) => void (data[name] = value),
    delete: async (name) => void delete data[name],
    deletePrefix: async (prefix) => {
      const names = Object.keys(data).filter((n) => n.startsWith(prefix));
      for (const n of names) delete data[n];
      return names.length;
    },
  };
}

/** utime + stime of a process, in seconds; its resident set in MB. */
function sampleProcess(pid: number): { cpuSeconds: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuSeconds, rssMb: Number(rss ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

/** The whole machine's busy and total CPU time (all cores), in clock ticks. */
function sampleMachine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface Seeded {
  readonly id: string;
  readonly deployed: DeployedSignal;
}

/** Keys, worker group, a light droplet with deploy's configuration in place, and the deploy result it stands for. */
async function seedInstallations(sandbox: Sandbox, n: number, secrets: ReturnType<typeof memoryStore>): Promise<Seeded[]> {
  const light = sandbox.light;
  if (!light) throw new Error('the scale bench needs a sandbox with light droplets');
  const keys = createInstallationKeys(secrets);
  const agentScript = readAgentScript();
  const config = loadConfig({ ...sandbox.env, TRIGGER_OPS_DATA_DIR: tmpdir() });
  const railway = { projectId: sandbox.railway.projectId, environmentId: sandbox.railway.environmentId, webappServiceId: sandbox.railway.serviceIds.webapp };
  const webappVariables = await createRailwayApiFromConfig(config.railway).getVariables({ ...railway, serviceId: railway.webappServiceId });
  const admin = createWebappClient({ baseUrl: sandbox.webapp.url, adminToken: sandbox.webapp.adminToken, timeoutMs: 15_000 });
  const ids = Array.from({ length: n }, (_, i) => `scale-${i + 1}`);
  const seeded: Seeded[] = [];
  await eachLimited(ids, SEED_CONCURRENCY, async (id) => {
    const names = resourceNames(id);
    const [controller, hostKey] = await Promise.all([keys.controllerKey(id), keys.hostKey(id)]);
    const group = await admin.createWorkerGroup({ name: names.workerGroup, description: `trigger-ops installation ${id}` });
    if (group.outcome !== 'created') throw new Error(`worker group ${names.workerGroup} exists already`);
    await secrets.put(secretNames(id).workerToken, group.token);
    const userData = buildCloudConfig({ installationId: id, controllerPublicKey: controller.publicKey, hostKey, agentScript, docker: 'preinstalled' });
    const name = names.droplet(1);
    const droplet = await sandbox.digitalocean.seedDroplet({ name, size: DEFAULT_SIZE, image: DEFAULT_IMAGE, region: DEFAULT_REGION, tags: [MANAGED_TAG, names.tag], userData });
    const supervisor = await desiredSupervisorConfig(
      { secrets, keys },
      { installationId: id, supervisorVersion: SUPERVISOR_VERSION, apiUrl: sandbox.webapp.url, webappVariables, droplet: { name, ...SIZE_SHAPE }, dockerApiVersion: '1.47' },
    );
    await light.install(droplet.id, { compose: supervisor.compose, env: supervisor.env });
    seeded.push({
      id,
      deployed: {
        result: {
          installationId: id,
          droplet: { id: droplet.id, name, ipv4: droplet.ipv4 },
          region: DEFAULT_REGION,
          size: DEFAULT_SIZE,
          image: DEFAULT_IMAGE,
          supervisorVersion: SUPERVISOR_VERSION,
          configHash: supervisor.hash,
          // Pre-made: the heal check never reads these two, and no firewall or key is created for them.
          firewallId: `seeded-${id}`,
          sshKeyId: 1,
          monthlyPriceUsd: 24,
          railway,
          generatedSecrets: [],
        },
        apiUrl: sandbox.webapp.url,
        generation: 1,
      },
    });
  });
  return seeded;
}

/** What deploy's hand-over does for each (src/activities/temporal: handOverInstallation): schedule, then adopt. */
async function handOver(temporal: TestTemporal, seeded: readonly Seeded[], healIntervalSeconds: number): Promise<void> {
  await eachLimited(seeded, SEED_CONCURRENCY, async ({ id, deployed }) => {
    await temporal.client.schedule.create(healScheduleOptions(id, healIntervalSeconds, temporal.taskQueue));
    const args: [InstallationInput] = [{ installationId: id, settings: { healIntervalSeconds } }];
    await temporal.client.workflow.signalWithStart(WORKFLOW_TYPES.installation, {
      workflowId: workflowIds.installation(id),
      taskQueue: temporal.taskQueue,
      args,
      signal: deployedSignal,
      signalArgs: [deployed],
    });
  });
}

export async function runScale(options: ScaleOptions) {
  const { installations: n, minutes, healIntervalSeconds } = options;
  const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-bench-scale-'));
  const codecKey = randomBytes(32);
  // A server of its own (never a shared test server), so its CPU is this run's.
  const temporal = await startTestTemporal({ extraArgs: [], codecKey, taskQueue: 'bench-scale' });
  const sandbox = await startSandbox({ fast: true, lightDroplets: true, timings: { profile: 'fast', force: { supervisorHeartbeat: 30_000 } } });
  let worker: Spawned | undefined;
  try {
    note(`scale: seeding ${n} installations (keys, worker groups, light droplets)…`);
    const seedStart = performance.now();
    const secrets = memoryStore();
    const seeded = await seedInstallations(sandbox, n, secrets);
    const dataDir = join(dir, 'data');
    const secretsFile = join(dataDir, 'secrets.json');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(secretsFile, JSON.stringify(secrets.data), { mode: 0o600 });
    const bundle = await bundleWorkflows(join(dir, 'workflow-bundle.js'));
    worker = spawnCli(['worker'], {
      ...sandbox.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: temporal.taskQueue,
      TRIGGER_OPS_CODEC_KEY: codecKey.toString('base64'),
      TRIGGER_OPS_DATA_DIR: dataDir,
      TRIGGER_OPS_WORKFLOW_BUNDLE: bundle.path,
      ...options.workerEnv,
    });
    const w = worker;
    for (let t = 0; !/worker polling/.test(w.output()); t++) {
      if (t > 600) throw new Error(`the worker did not start polling:\n${w.output().slice(-2000)}`);
      await sleep(100);
    }
    const workerPid = w.child.pid;
    const serverPid = temporal.serverPid;
    if (workerPid === undefined || serverPid === undefined) throw new Error('no pid for the worker or the Temporal server');
    note(`scale: handing over ${n} installations with ${healIntervalSeconds} s heal schedules…`);
    await handOver(temporal, seeded, healIntervalSeconds);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    note(`scale: measuring for ${minutes} min…`);
    const t0 = Date.now();
    const do0 = sandbox.digitalocean.requestCounts();
    const railwayCalls = () => Object.values(sandbox.railway.inspect().calls).reduce((a, b) => a + b, 0);
    const rw0 = railwayCalls();
    const w0 = sampleProcess(workerPid);
    const s0 = sampleProcess(serverPid);
    const m0 = sampleMachine();
    const load0 = loadavg()[0] ?? 0;
    const rss: number[] = [];
    const deadline = t0 + minutes * 60_000;
    while (Date.now() < deadline) {
      const s = sampleProcess(workerPid);
      if (!s) throw new Error(`the worker process exited:\n${w.output().slice(-2000)}`);
      rss.push(s.rssMb);
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    }
    const t1 = Date.now();
    const elapsedS = (t1 - t0) / 1000;
    const w1 = sampleProcess(workerPid);
    const s1 = sampleProcess(serverPid);
    const m1 = sampleMachine();
    const do1 = sandbox.digitalocean.requestCounts();
    const rw1 = railwayCalls();
    const load1 = loadavg()[0] ?? 0;

    note('scale: collecting heal runs, checks and schedules…');
    // Runs scheduled inside the window may start (and reach visibility) a little after it.
    await sleep(10_000);
    const lags: number[] = [];
    const runs = temporal.client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPES.heal}' AND StartTime >= '${new Date(t0 - 60_000).toISOString()}'`, pageSize: 1000 });
    for await (const run of runs) {
      const scheduled = run.searchAttributes['TemporalScheduledStartTime']?.[0];
      if (!(scheduled instanceof Date) || scheduled.getTime() < t0 || scheduled.getTime() >= t1) continue;
      lags.push(run.startTime.getTime() - scheduled.getTime());
    }
    // Every action the schedules were due to take in the window: interval spec times are multiples of the interval
    // since the epoch, plus the installation's offset.
    const intervalMs = healIntervalSeconds * 1000;
    const expected = seeded.reduce((sum, { id }) => {
      const offset = healScheduleSpec(id, healIntervalSeconds).offsetMs;
      return sum + (Math.ceil((t1 - offset) / intervalMs) - Math.ceil((t0 - offset) / intervalMs));
    }, 0);
    const checks: number[] = [];
    const outcomes: Record<string, number> = {};
    // A query or describe that fails (a worker past its limits) is counted, not fatal: the figures say so.
    let unanswered = 0;
    await eachLimited(seeded, SEED_CONCURRENCY, async ({ id }) => {
      const st = await temporal.client.workflow.getHandle(workflowIds.installation(id)).query(statusQuery).catch(() => undefined);
      if (!st) {
        unanswered += 1;
        return;
      }
      for (const r of st.recent) {
        if (r.kind !== 'heal' || r.details?.['source'] !== 'schedule') continue;
        const requested = Date.parse(r.requestedAt);
        if (requested < t0 || requested >= t1) continue;
        checks.push(Date.parse(r.finishedAt) - requested);
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      }
    });
    let missedCatchup = 0;
    let overlapSkipped = 0;
    await eachLimited(seeded, SEED_CONCURRENCY, async ({ id }) => {
      const d = await temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).describe().catch(() => undefined);
      if (!d) {
        unanswered += 1;
        return;
      }
      missedCatchup += d.info.numActionsMissedCatchupWindow;
      overlapSkipped += d.info.numActionsSkippedOverlap;
    });
    const cpuPct = (a?: { cpuSeconds: number }, b?: { cpuSeconds: number }) => (a && b ? round(((b.cpuSeconds - a.cpuSeconds) / elapsedS) * 100) : NaN);
    const light = sandbox.light?.totals();
    return {
      installations: n,
      minutes,
      heal_interval_seconds: healIntervalSeconds,
      heal_runs: lags.length,
      heal_runs_due: expected,
      heal_runs_missing: expected - lags.length,
      lag_p50_ms: round(percentile(lags, 50)),
      lag_p99_ms: round(percentile(lags, 99)),
      lag_max_ms: round(lags.length ? Math.max(...lags) : NaN),
      heal_checks: checks.length,
      status_or_schedule_unanswered: unanswered,
      heal_outcomes: outcomes,
      heal_p50_ms: round(percentile(checks, 50)),
      heal_p99_ms: round(percentile(checks, 99)),
      worker_rss_mb: round(rss.length ? Math.max(...rss) : NaN),
      worker_rss_mb_start: round(w0?.rssMb ?? NaN),
      worker_rss_mb_end: round(w1?.rssMb ?? NaN),
      worker_cpu_pct: cpuPct(w0, w1),
      server_cpu_pct: cpuPct(s0, s1),
      do_calls: do1.answered - do0.answered,
      do_calls_per_hour: Math.round(((do1.answered - do0.answered) / elapsedS) * 3600),
      do_rate_limited: do1.rateLimited - do0.rateLimited,
      railway_calls_per_hour: Math.round(((rw1 - rw0) / elapsedS) * 3600),
      skipped: missedCatchup + overlapSkipped,
      skipped_missed_catchup: missedCatchup,
      skipped_overlap: overlapSkipped,
      ssh_commands: light?.sessions ?? 0,
      ssh_refused_commands: light?.refused ?? 0,
      supervisors_connected: light?.connected ?? 0,
      seed_seconds: round(seedSeconds),
      machine: {
        cores: cpus().length,
        cpu_busy_pct: round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100),
        loadavg_1m_start: round(load0),
        loadavg_1m_end: round(load1),
      },
    };
  } finally {
    if (worker) {
      worker.child.kill('SIGTERM');
      const done = await Promise.race([worker.exited, sleep(30_000).then(() => 'timeout')]);
      if (done === 'timeout') worker.child.kill('SIGKILL');
    }
    await sandbox.close();
    await temporal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export type ScaleFigures = Awaited<ReturnType<typeof runScale>>;
