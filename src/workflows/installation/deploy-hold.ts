import { condition, patched } from '@temporalio/workflow';
import type { DeployedSignal, DeployEndedSignal } from '../../shared/installation-messages';
import type { QueuedOperation } from '../../shared/lifecycle';
import type { Installation } from './state';

/** How long a deploy may hold the installation without reporting back (a deploy workflow that was terminated). */
const DEPLOY_HOLD_LIMIT = '2 hours';

/** What the deploy that holds the installation reported: its result, or that it failed and rolled back. */
export type DeployReport = { readonly deployed: DeployedSignal } | { readonly ended: DeployEndedSignal };

/** A deploy's result becomes the desired state; what was observed of the old one no longer applies. */
export function adoptDeployed(inst: Installation, d: DeployedSignal): void {
  const r = d.result;
  inst.state.desired = {
    supervisorVersion: r.supervisorVersion,
    size: r.size,
    region: r.region,
    image: r.image,
    configHash: r.configHash,
    generation: d.generation,
    droplet: r.droplet,
    sshKeyId: r.sshKeyId,
    railway: r.railway,
    apiUrl: d.apiUrl,
    monthlyPriceUsd: r.monthlyPriceUsd,
  };
  inst.state.conditions = [];
  inst.state.observed = null;
}

/**
 * A deploy holds the installation (nothing else runs) until the deploy workflow reports back: its result is adopted,
 * or its failure recorded; a deploy that never reports is given up on after DEPLOY_HOLD_LIMIT (teardown releases
 * the hold of a deploy workflow that no longer runs).
 */
export async function holdForDeploy(inst: Installation, op: QueuedOperation & { kind: 'deploy' }, startedAt: string): Promise<void> {
  inst.takeDeployReport();
  // A teardown lets the deploy finish, as any current operation, and then deletes what it made.
  const throughTeardown = patched('teardown-waits-for-deploy');
  const reported = await condition(() => inst.deployReport !== undefined || (!throughTeardown && inst.state.retiring), DEPLOY_HOLD_LIMIT);
  const report = inst.takeDeployReport();
  if (report && 'deployed' in report) {
    const r = report.deployed.result;
    adoptDeployed(inst, report.deployed);
    inst.record(op, 'succeeded', `deploy ${op.deployWorkflowId}: ${r.droplet.name} running ${r.supervisorVersion}`, startedAt);
    return;
  }
  const why = report ? report.ended.message : reported ? 'the installation is being torn down' : `no report within ${DEPLOY_HOLD_LIMIT}`;
  inst.record(op, 'failed', `deploy ${op.deployWorkflowId} did not complete: ${why}`, startedAt);
}
