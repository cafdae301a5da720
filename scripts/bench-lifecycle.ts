// Lifecycle numbers on the sandbox (not a test): the cost of a heal check, the supervisor's unavailability during an
// upgrade, and the time from a killed supervisor to healthy again with a 1 s heal interval. Stops all it starts.
import { setTimeout as sleep } from 'node:timers/promises';
import { resourceNames, workflowIds } from '../src/shared/ids';
import { configureUpdate, upgradeSupervisorUpdate } from '../src/shared/installation-messages';
import { startWorld } from '../test/helpers/installation';
import { deployAndAdopt, healNow, installationHandle, status, waitForStatus } from '../test/helpers/lifecycle';

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main(): Promise<void> {
  const world = await startWorld();
  const worker = await world.startWorker();
  const id = 'bench';
  try {
    await deployAndAdopt(world, id);
    const instanceName = resourceNames(id).droplet(1);

    // 1. Heal check cost.
    const checks = 10;
    const walls: number[] = [];
    const opDurations: number[] = [];
    const doBefore = sum(world.sandbox.digitalocean.inspect().callsByOperation);
    const railwayBefore = sum(world.sandbox.railway.inspect().calls);
    for (let i = 0; i < checks; i++) {
      const t = performance.now();
      await healNow(world, id);
      walls.push(performance.now() - t);
      const op = (await status(world, id)).recent.find((r) => r.kind === 'heal');
      if (op?.startedAt) opDurations.push(Date.parse(op.finishedAt) - Date.parse(op.startedAt));
    }
    const s = await status(world, id);
    const calls = s.healEvents[0]?.calls;
    const doCalls = (sum(world.sandbox.digitalocean.inspect().callsByOperation) - doBefore) / checks;
    const railwayCalls = (sum(world.sandbox.railway.inspect().calls) - railwayBefore) / checks;
    walls.sort((a, b) => a - b);
    opDurations.sort((a, b) => a - b);
    console.log(`heal check (healthy, ${checks} runs):`);
    console.log(`  wall time signal→recorded: median ${ms(walls[Math.floor(checks / 2)] ?? 0)}, max ${ms(walls[checks - 1] ?? 0)}`);
    console.log(`  operation time in the workflow: median ${ms(opDurations[Math.floor(opDurations.length / 2)] ?? 0)}`);
    console.log(`  external calls per check: DigitalOcean ${doCalls} (sandbox count), Railway ${railwayCalls} (sandbox count), SSH sessions ${calls?.ssh ?? '?'}, webapp probes ${calls?.webapp ?? '?'}`);

    // 2. Unavailability during an upgrade: the agent's measure, the controller's, and the webapp's heartbeat gap.
    const beats: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = world.sandbox.webapp.workerInstances().find((i) => i.name === instanceName)?.lastHeartbeatAt?.getTime();
        if (at !== undefined && beats.at(-1) !== at) beats.push(at);
        await sleep(10);
      }
    })();
    await sleep(1500);
    const up = await installationHandle(world, id).executeUpdate(upgradeSupervisorUpdate, { args: [{ version: 'v4.5.12' }] });
    await sleep(1500);
    sampling = false;
    await sampler;
    const gaps = beats.slice(1).map((b, i) => b - (beats[i] ?? b));
    console.log(`upgrade v4.5.11 → v4.5.12: ${up.outcome}`);
    console.log(`  agent-reported downtime (old stopped → new running): ${up.downtimeSeconds ?? '?'} s`);
    console.log(`  controller-measured not connected (old stopped → "Connected to platform"): ${up.notConnectedSeconds ?? '?'} s`);
    console.log(`  webapp: largest gap between heartbeats ${ms(Math.max(...gaps))} (normal interval ${ms(gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? 0)}, sandbox heartbeat 500 ms)`);

    // 3. Killed supervisor → healthy again, heal every second.
    await installationHandle(world, id).executeUpdate(configureUpdate, { args: [{ healIntervalSeconds: 1 }] });
    await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).unpause('bench');
    const dropletId = s.desired?.droplet.id ?? 0;
    const supervisor = () => world.sandbox.droplets.inspect(dropletId).containers.find((c) => c.name.includes('supervisor'));
    const restartsBefore = supervisor()?.restartCount ?? 0;
    const killedAt = Date.now();
    world.sandbox.droplets.faults.killSupervisor(dropletId);
    let runningAt = 0;
    let heartbeatAt = 0;
    while (Date.now() - killedAt < 60_000 && heartbeatAt === 0) {
      const c = supervisor();
      if (!runningAt && c && c.restartCount > restartsBefore && c.state === 'running') runningAt = Date.now();
      const beat = world.sandbox.webapp.workerInstances().find((i) => i.name === instanceName)?.lastHeartbeatAt?.getTime() ?? 0;
      if (runningAt && beat >= runningAt) heartbeatAt = Date.now();
      await sleep(10);
    }
    const healthy = await waitForStatus(world, id, 'a heal check after the kill to see all conditions True', (st) =>
      st.observed !== null && Date.parse(st.observed.at) > killedAt && st.conditions.every((c) => c.status === 'True'), 60_000);
    const healthyAt = Date.now();
    await world.temporal.client.schedule.getHandle(workflowIds.healSchedule(id)).pause('bench done');
    console.log('killed supervisor, heal interval 1 s:');
    console.log(`  kill → container running again (Docker's restart policy): ${runningAt ? ms(runningAt - killedAt) : 'not within 60 s'}`);
    console.log(`  kill → webapp receives a heartbeat from the new process: ${heartbeatAt ? ms(heartbeatAt - killedAt) : 'not within 60 s'}`);
    console.log(`  kill → a heal check reports every condition True: ${ms(healthyAt - killedAt)} (decisions: ${healthy.healEvents
      .filter((e) => Date.parse(e.at) >= killedAt)
      .slice(-3)
      .map((e) => `${e.action}:${e.decision}`)
      .join(', ')})`);
  } finally {
    await worker.stop();
    await world.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
