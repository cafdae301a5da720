import { allHandlersFinished, condition, continueAsNew, log, patched, workflowInfo } from '@temporalio/workflow';
import { SUPERSEDED_BY_TEARDOWN } from '../../shared/installation-messages';
import { installationInputSchema, type InstallationInput } from '../../shared/installation-state';
import type { OperationOutcome, QueuedOperation, UpgradeResult } from '../../shared/lifecycle';
import { rootCauseMessage } from '../saga';
import { parseInput } from '../validate';
import { runConfigure } from './configure';
import { adoptDeployed, holdForDeploy } from './deploy-hold';
import { runHeal } from './heal';
import { runMigrate } from './migrate';
import { receive } from './receive';
import { initialState, Installation } from './state';
import { runUpgrade } from './upgrade';

/** About 25 healthy heal checks (~12 events each). */
const HISTORY_EVENTS_BEFORE_NEW_RUN = 300;

/**
 * The installation entity (id `installation:<id>`): owns the desired state and runs mutating operations one at a
 * time (adopt a deploy, hold for a re-deploy, upgrade, migrate, heal, configure), queueing the rest (queue.ts).
 * Every message is parsed when it arrives: a malformed one is refused (an update with an error, a signal with a
 * record in `status`), never half-applied. Continues as new when the server suggests it, carrying state and queue.
 */
export async function installation(input: InstallationInput): Promise<{ readonly retired: true; readonly installationId: string }> {
  const spec = parseInput(installationInputSchema, input, 'installation');
  const carried = spec.carried;
  const inst = new Installation(spec.installationId, carried ?? initialState(spec.settings));
  const { state } = inst;
  if (carried) state.runs += 1;
  receive(inst);

  // Continue as new well before the server would suggest it (thousands of events): an installation the worker does
  // not keep cached replays its whole history on its next heal, so the history stays a few heal cycles long.
  const shortHistory = patched('installation-short-history');
  const suggested = () => workflowInfo().continueAsNewSuggested || (shortHistory && workflowInfo().historyLength >= HISTORY_EVENTS_BEFORE_NEW_RUN);
  for (;;) {
    await condition(() => state.queue.length > 0 || state.retiring || (suggested() && allHandlersFinished()));
    if (state.retiring) break;
    if (suggested() && allHandlersFinished()) {
      log.info('continuing as new', { installationId: inst.id, queued: state.queue.length, historyLength: workflowInfo().historyLength });
      await continueAsNew<typeof installation>({ installationId: inst.id, settings: state.settings, carried: state });
    }
    const op = state.queue.shift();
    if (op) await run(inst, op);
  }

  for (const op of state.queue.splice(0)) {
    inst.record(op, 'cancelled', SUPERSEDED_BY_TEARDOWN, null);
    inst.outcomes.set(op.id, { kind: 'cancelled', message: SUPERSEDED_BY_TEARDOWN });
  }
  // Retired, it refuses every request until the teardown has deleted everything: a deploy sent meanwhile finds it
  // here and is refused, instead of starting a fresh installation whose droplet the teardown would miss.
  if (patched('retire-until-torn-down')) await condition(() => inst.tornDown);
  await condition(allHandlersFinished);
  return { retired: true, installationId: inst.id };
}

/** Runs one operation and records what it did; the unexpected is recorded too, so the entity itself never fails. */
async function run(inst: Installation, op: QueuedOperation): Promise<void> {
  const startedAt = inst.now();
  inst.current = { ...op, startedAt, step: 'start' };
  try {
    switch (op.kind) {
      case 'adopt': {
        const r = op.deployed.result;
        adoptDeployed(inst, op.deployed);
        inst.record(op, 'succeeded', `adopted deploy: ${r.droplet.name} running ${r.supervisorVersion}`, startedAt);
        inst.outcomes.set(op.id, { kind: 'done' });
        return;
      }
      case 'deploy':
        await holdForDeploy(inst, op, startedAt);
        return;
      case 'upgrade': {
        const r = await runUpgrade(inst, op);
        const outcomes: Record<UpgradeResult['outcome'], OperationOutcome> = {
          upgraded: 'succeeded',
          unchanged: 'unchanged',
          'rolled-back': 'rolled-back',
          rejected: 'failed',
          failed: 'failed',
          superseded: 'superseded',
          cancelled: 'cancelled',
        };
        inst.record(op, outcomes[r.outcome], r.message, startedAt, { from: r.from, to: r.to, downtimeSeconds: r.downtimeSeconds, notConnectedSeconds: r.notConnectedSeconds });
        inst.outcomes.set(op.id, { kind: 'upgrade', result: r });
        return;
      }
      case 'migrate': {
        const r = await runMigrate(inst, op.request);
        inst.record(op, r.outcome === 'migrated' ? 'succeeded' : 'failed', r.message, startedAt);
        inst.outcomes.set(op.id, { kind: 'migrate', result: r });
        return;
      }
      case 'heal': {
        const r = await runHeal(inst);
        inst.record(op, r.outcome, r.message, startedAt, { source: op.source });
        inst.outcomes.set(op.id, { kind: 'done' });
        return;
      }
      case 'configure': {
        const r = await runConfigure(inst, op.patch);
        inst.record(op, 'succeeded', 'settings changed', startedAt, { ...op.patch });
        inst.outcomes.set(op.id, { kind: 'configure', result: r });
        return;
      }
    }
  } catch (err) {
    const message = rootCauseMessage(err);
    inst.record(op, 'failed', message, startedAt);
    inst.outcomes.set(op.id, { kind: 'failed', message });
  } finally {
    inst.current = null;
  }
}
