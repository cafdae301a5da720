import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { DesiredState } from '../../shared/deploy';
import { ErrorType } from '../../shared/errors';
import {
  conditionsFrom,
  decideHeal,
  decideRepair,
  repairEnded,
  repairStarted,
  type RepairBudget,
  type RepairDecision,
} from '../../shared/heal-policy';
import type { OperationOutcome } from '../../shared/lifecycle';
import { acts } from '../activity-proxy';
import { rootCauseMessage } from '../saga';
import { runMigrate } from './migrate';
import type { Installation } from './state';
import { sweepOrphans } from './sweep';

/**
 * Heal: one look (observeInstallation), the policy's verdict (src/shared/heal-policy.ts), at most one repair, and a
 * second look to verify it. Every decision is recorded with its reason.
 */
export async function runHeal(inst: Installation): Promise<{ outcome: OperationOutcome; message: string }> {
  const { state } = inst;
  const desired = state.desired;
  if (!desired) return { outcome: 'skipped', message: 'nothing is deployed yet' };
  if (patched('heal-sweeps-orphans')) {
    inst.setStep('sweep-orphans');
    await sweepOrphans(inst, desired);
  }
  inst.setStep('observe');
  const decision = await look(inst, desired);
  const calls = state.observed?.calls;
  const verdict = decideHeal(state.conditions, budgetOf(inst), state.settings, Date.now());
  if (verdict.kind === 'healthy') {
    setBudget(inst, repairEnded(budgetOf(inst), 'healthy', state.settings, Date.now()));
    inst.event({ action: 'none', decision: 'observed-healthy', reason: verdict.reason, ...(calls ? { calls } : {}) });
    return { outcome: 'succeeded', message: 'healthy: nothing to repair' };
  }
  if (verdict.kind === 'operator') {
    inst.event({ action: 'operator', decision: 'needs-operator', reason: verdict.reason });
    return { outcome: 'skipped', message: verdict.reason };
  }
  if (verdict.kind === 'held') {
    inst.event({ action: verdict.action, decision: verdict.decision, reason: verdict.reason });
    return { outcome: 'skipped', message: verdict.reason };
  }
  setBudget(inst, repairStarted(budgetOf(inst), Date.now()));
  inst.setStep(`repair:${decision.action}`);
  let failure: string | undefined;
  try {
    await repair(inst, desired, decision);
  } catch (err) {
    failure = rootCauseMessage(err);
  }
  if (failure === undefined && state.desired) {
    inst.setStep('verify');
    const after = await look(inst, state.desired);
    if (after.action !== 'none') failure = `still unhealthy after ${decision.action}: ${after.reason}`;
  }
  setBudget(inst, repairEnded(budgetOf(inst), failure === undefined ? 'repaired' : 'failed', state.settings, Date.now()));
  if (failure === undefined) {
    inst.event({ action: decision.action, decision: 'repaired', reason: decision.reason });
    return { outcome: 'succeeded', message: `repaired with ${decision.action}: ${decision.reason}` };
  }
  inst.event({ action: decision.action, decision: 'repair-failed', reason: `${decision.reason}; ${failure}` });
  return { outcome: 'failed', message: `${decision.action} did not help: ${failure}` };
}

async function look(inst: Installation, desired: DesiredState): Promise<RepairDecision> {
  const { state } = inst;
  const o = await acts.observeInstallation({
    installationId: inst.id,
    dropletId: desired.droplet.id,
    supervisorVersion: desired.supervisorVersion,
    railway: desired.railway,
    apiUrl: desired.apiUrl,
  });
  state.observed = o;
  state.conditions = conditionsFrom(o, desired, state.settings.minFreeDiskPercent, state.conditions);
  return decideRepair(state.conditions);
}

/** The smallest repair, then (for most) the health gate; a failed gate shows up in the verifying look. */
async function repair(inst: Installation, desired: DesiredState, decision: RepairDecision): Promise<void> {
  const { state } = inst;
  const host = { installationId: inst.id, ipv4: desired.droplet.ipv4 };
  switch (decision.action) {
    case 'replace-droplet': {
      const moved = await runMigrate(inst, { reason: decision.reason });
      if (moved.outcome !== 'migrated') throw ApplicationFailure.nonRetryable(moved.message, ErrorType.MigrateFailed);
      return;
    }
    case 'prune':
      await acts.pruneDocker(host);
      return;
    case 'none':
    case 'operator':
      return;
    case 'power-on':
    case 'power-cycle':
      await acts.powerDroplet({ installationId: inst.id, dropletId: desired.droplet.id, action: decision.action === 'power-on' ? 'power_on' : 'power_cycle', timeoutSeconds: state.settings.bootTimeoutSeconds });
      await acts.waitForDropletActive({ dropletId: desired.droplet.id, timeoutSeconds: state.settings.bootTimeoutSeconds });
      break;
    case 'start-docker':
      await acts.startDocker(host);
      break;
    case 'reapply-config': {
      const applied = await acts.applySupervisorConfig({
        ...host,
        dropletId: desired.droplet.id,
        ...desired.railway,
        supervisorVersion: desired.supervisorVersion,
        apiUrl: desired.apiUrl,
      });
      state.desired = { ...desired, configHash: applied.configHash };
      break;
    }
    case 'restart-supervisor':
      await acts.restartSupervisor(host);
      break;
  }
  // The health gate: its failure shows up in the verifying look that follows.
  await acts
    .waitForSupervisorHealthy({ ...host, supervisorVersion: desired.supervisorVersion, timeoutSeconds: state.settings.healthTimeoutSeconds })
    .catch(() => undefined);
}

function budgetOf(inst: Installation): RepairBudget {
  const { repairTimes, consecutiveFailures, backoffUntil } = inst.state;
  return { repairTimes, consecutiveFailures, backoffUntil };
}

function setBudget(inst: Installation, budget: RepairBudget): void {
  inst.state.repairTimes = [...budget.repairTimes];
  inst.state.consecutiveFailures = budget.consecutiveFailures;
  inst.state.backoffUntil = budget.backoffUntil;
}
