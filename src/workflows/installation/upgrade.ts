import { patched, workflowInfo } from '@temporalio/workflow';
import type { DesiredState } from '../../shared/deploy';
import { ErrorType } from '../../shared/errors';
import type { QueuedOperation, UpgradeResult } from '../../shared/lifecycle';
import { acts } from '../activity-proxy';
import { failureType, rootCauseMessage } from '../saga';
import type { Installation } from './state';

type Host = { readonly installationId: string; readonly ipv4: string; readonly healthTimeoutSeconds: number };

/**
 * Upgrade: check the release line, then pull and recreate on the droplet and gate on "Connected to platform"; a
 * version that fails its gate is rolled back to the previous one. The agent runs under `opId` (the operation's, the
 * same on every retry), so a retried step adopts what an earlier attempt did instead of doing it twice.
 */
export async function runUpgrade(inst: Installation, op: QueuedOperation & { kind: 'upgrade' }): Promise<UpgradeResult> {
  const { state } = inst;
  const { version } = op;
  const opId = `${workflowInfo().workflowId}:${op.id}`;
  const desired = state.desired;
  const base = { from: desired?.supervisorVersion ?? null, to: version, downtimeSeconds: null, notConnectedSeconds: null };
  if (!desired) return { ...base, outcome: 'rejected', message: 'nothing is deployed yet: run deploy first' };
  inst.setStep('check-release-line');
  try {
    const preflight = await acts.preflightRailway({ projectId: desired.railway.projectId, environmentId: desired.railway.environmentId, generateMissingSecrets: false });
    await acts.checkSupervisorVersion({ supervisorVersion: version, webappVersion: preflight.webappVersion });
  } catch (err) {
    return { ...base, outcome: 'rejected', message: rootCauseMessage(err) };
  }
  inst.setStep('pull-and-recreate');
  const host: Host = { installationId: inst.id, ipv4: desired.droplet.ipv4, healthTimeoutSeconds: state.settings.healthTimeoutSeconds };
  let up;
  try {
    up = await acts.upgradeSupervisorOnDroplet({ ...host, version, opId });
  } catch (err) {
    return { ...base, ...(await afterFailedUpgrade(inst, desired, host, opId, err)) };
  }
  if (up.healthy) {
    state.desired = { ...desired, supervisorVersion: version, configHash: up.configHash };
    return {
      ...base,
      outcome: up.changed ? 'upgraded' : 'unchanged',
      message: up.changed ? `upgraded ${desired.supervisorVersion} → ${version}: ${up.message}` : `${version} was already running: ${up.message}`,
      downtimeSeconds: up.downtimeSeconds,
      notConnectedSeconds: up.notConnectedSeconds,
    };
  }
  inst.setStep('rolling-back');
  const back = await acts.rollbackSupervisorOnDroplet({ ...host, version: desired.supervisorVersion, opId: `${opId}:rollback` });
  if (back.healthy) state.desired = { ...desired, configHash: back.configHash };
  return {
    ...base,
    outcome: back.healthy ? 'rolled-back' : 'failed',
    message: back.healthy
      ? `health gate failed (${up.message}); rolled back to ${desired.supervisorVersion}, which is connected again`
      : `health gate failed (${up.message}) and the rollback to ${desired.supervisorVersion} is not healthy either (${back.message}); heal will keep trying`,
    downtimeSeconds: up.downtimeSeconds,
    notConnectedSeconds: null,
  };
}

/**
 * An upgrade whose activity failed for good. The agent pulls before it touches the running container, so a tag the
 * registry refuses changed nothing. Anything else (a timeout, a lost droplet) may have left the run going or half
 * done: it is cancelled, and the old version is put back (a no-op when it is still there), so that what is recorded
 * is what the droplet runs.
 */
async function afterFailedUpgrade(
  inst: Installation,
  desired: DesiredState,
  host: Host,
  opId: string,
  err: unknown,
): Promise<Pick<UpgradeResult, 'outcome' | 'message'>> {
  const cause = rootCauseMessage(err);
  const unchanged = { outcome: 'rejected', message: `${cause}; nothing was changed, ${desired.supervisorVersion} keeps serving` } as const;
  if (failureType(err) === ErrorType.Rejected || !patched('upgrade-cancels-what-it-started')) return unchanged;
  inst.setStep('cancelling');
  await acts.cancelDropletOperation({ installationId: inst.id, ipv4: host.ipv4, opId }).catch(() => undefined);
  inst.setStep('restoring');
  try {
    const back = await acts.rollbackSupervisorOnDroplet({ ...host, version: desired.supervisorVersion, opId: `${opId}:restore` });
    if (back.healthy) inst.state.desired = { ...desired, configHash: back.configHash };
    if (!back.changed) return unchanged;
    return {
      outcome: back.healthy ? 'rolled-back' : 'failed',
      message: `${cause}; the partial upgrade was undone: back on ${desired.supervisorVersion} (${back.message})`,
    };
  } catch (restoreErr) {
    return { outcome: 'failed', message: `${cause}; restoring ${desired.supervisorVersion} failed too (${rootCauseMessage(restoreErr)}); heal will check the droplet` };
  }
}
