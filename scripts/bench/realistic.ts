// The bench's realistic part (scripts/bench-lifecycle.ts, full run): deploy, upgrade and migrate on the real world's
// durations (docs/sandbox-timings.md), each in a world of its own and all three at once, and each one's wall time
// against the waits no controller can avoid in that run, as the sandbox drew them (sandbox/timings.ts `drawn`):
// droplet create and boot, cloud-init, image pulls and the supervisor's connect. Upgrade and migrate first get a
// deployed installation on forced fast durations, then the profile's own ranges are back for the measured step.
import { TIMING_NAMES, TIMING_TABLE, type TimingName } from '../../sandbox';
import { migrateUpdate, upgradeSupervisorUpdate } from '../../src/shared/installation-messages';
import { workflowIds } from '../../src/shared/ids';
import { deploy } from '../../src/workflows';
import { startWorld, type World } from '../../test/helpers/installation';
import { deployAndAdopt, installationHandle } from '../../test/helpers/lifecycle';

/** Item 4 of issue 20: reported, not asserted. */
export const REALISTIC_DEPLOY_TARGET = 1.1;
const UNAVOIDABLE = ['dropletCreate', 'dropletBoot', 'cloudInit', 'imagePull', 'supervisorConnect'] as const satisfies readonly TimingName[];
/** Real-world bounds for the measured steps (the settings' own maximums are far above these). */
const LONG = { bootTimeoutSeconds: 600, healthTimeoutSeconds: 300 };

const round = (n: number) => Number(n.toFixed(1));
const round2 = (n: number) => Number(n.toFixed(2));

export interface RealisticFigures {
  readonly wall_ms: number;
  /** The critical path of the drawn waits: max(create, boot + cloud-init) + pulls + connects (concurrent ones once). */
  readonly unavoidable_ms: number;
  readonly ratio: number;
  readonly drawn_ms: Readonly<Record<(typeof UNAVOIDABLE)[number], number>>;
}

/**
 * What the run could not have been faster than. The droplet is `active` once both its create and its boot are done,
 * while cloud-init starts at boot: so the droplet part is the later of the create and boot + cloud-init; then the
 * pull and the supervisor's connect follow one another.
 */
function figuresOf(world: World, startedAt: number, wallMs: number): RealisticFigures {
  const inWindow = world.sandbox.timings.drawn().filter((d) => d.at >= startedAt && d.at <= startedAt + wallMs);
  // Waits of one kind drawn within a second of each other run side by side (compose pulls the supervisor and the
  // socket proxy at once): the longest of them counts; waits drawn apart follow one another and add up.
  const span = (name: TimingName) => {
    let total = 0;
    let group: { at: number; ms: number } | undefined;
    for (const d of inWindow.filter((x) => x.name === name)) {
      if (group && d.at - group.at < 1000) group.ms = Math.max(group.ms, d.ms);
      else {
        total += group?.ms ?? 0;
        group = { at: d.at, ms: d.ms };
      }
    }
    return total + (group?.ms ?? 0);
  };
  const drawn_ms = Object.fromEntries(UNAVOIDABLE.map((n) => [n, span(n)])) as Record<(typeof UNAVOIDABLE)[number], number>;
  const unavoidable = Math.max(drawn_ms.dropletCreate, drawn_ms.dropletBoot + drawn_ms.cloudInit) + drawn_ms.imagePull + drawn_ms.supervisorConnect;
  return { wall_ms: round(wallMs), unavoidable_ms: unavoidable, ratio: unavoidable > 0 ? round2(wallMs / unavoidable) : NaN, drawn_ms };
}

/** A realistic world with every duration forced to its fast value until `release` (the setup deploy). */
async function realisticWorld(fastSetup: boolean): Promise<World> {
  const world = await startWorld({ sandbox: { timings: 'realistic' } });
  if (fastSetup) for (const name of TIMING_NAMES) world.sandbox.timings.force(name, TIMING_TABLE[name].fast[0]);
  return world;
}

async function measureDeploy(): Promise<RealisticFigures> {
  const world = await realisticWorld(false);
  try {
    await world.startWorker();
    const id = 'real-deploy';
    const t0 = Date.now();
    await world.temporal.client.workflow.execute(deploy, {
      taskQueue: world.temporal.taskQueue,
      workflowId: workflowIds.deploy(id),
      args: [{ installationId: id, options: LONG }],
    });
    return figuresOf(world, t0, Date.now() - t0);
  } finally {
    await world.close();
  }
}

async function measureOnDeployed(id: string, step: (world: World) => Promise<void>): Promise<RealisticFigures> {
  const world = await realisticWorld(true);
  try {
    await world.startWorker();
    await deployAndAdopt(world, id, LONG);
    world.sandbox.timings.release();
    const t0 = Date.now();
    await step(world);
    return figuresOf(world, t0, Date.now() - t0);
  } finally {
    await world.close();
  }
}

export async function runRealistic() {
  const [deployFigures, upgrade, migrate] = await Promise.all([
    measureDeploy(),
    measureOnDeployed('real-upgrade', async (world) => {
      const up = await installationHandle(world, 'real-upgrade').executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] });
      if (up.outcome !== 'upgraded') throw new Error(`realistic upgrade: ${up.outcome} ${up.message ?? ''}`);
    }),
    measureOnDeployed('real-migrate', async (world) => {
      const r = await installationHandle(world, 'real-migrate').executeUpdate(migrateUpdate, { args: [{ size: 's-4vcpu-8gb' }] });
      if (r.outcome !== 'migrated') throw new Error(`realistic migrate: ${r.outcome} ${r.message ?? ''}`);
    }),
  ]);
  return { deploy: deployFigures, upgrade, migrate };
}

export type RealisticReport = Awaited<ReturnType<typeof runRealistic>>;
