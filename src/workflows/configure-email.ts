import { ApplicationFailure, CancellationScope, workflowInfo } from '@temporalio/workflow';
import { configureEmailInputSchema, emailSettingWarnings, type ConfigureEmailInput, type ConfigureEmailResult } from '../shared/email';
import { ErrorType } from '../shared/errors';
import { acts } from './activity-proxy';
import { rootCauseMessage } from './saga';
import { parseInput } from './validate';

/**
 * `email set` / `email unset` (id `email:<id>`): writes the webapp's email variables in one change, waits for the
 * redeploy and its health check, then proves delivery with one magic link to the verification address. If any of
 * that fails, the previous variables are put back (and redeployed) before the failure is reported. Secrets arrive
 * sealed and are opened only inside the activity that writes them.
 */
export async function configureEmail(input: ConfigureEmailInput): Promise<ConfigureEmailResult> {
  const spec = parseInput(configureEmailInputSchema, input, 'configureEmail');
  const { settings } = spec;
  const target = await acts.resolveRailwayTarget(spec.railway);
  const warnings = settings.transport === 'none' ? [] : emailSettingWarnings(settings);
  const { runId, workflowId } = workflowInfo();
  const applied = await acts.applyEmailSettings({ ...target, installationId: spec.installationId, opId: `${workflowId}/${runId}`, settings });
  const verifyTo = settings.transport === 'none' ? null : (spec.verifyTo ?? settings.REPLY_TO_EMAIL ?? null);
  let deploymentId: string | null = null;
  try {
    if (applied.changed) deploymentId = (await acts.waitForEmailDeployment({ ...target, since: applied.since })).deploymentId;
    if (verifyTo !== null) await acts.verifyEmailDelivery({ ...target, to: verifyTo });
  } catch (err) {
    const cause = rootCauseMessage(err);
    let restored = 'the previous email settings were put back and the webapp redeployed with them';
    await CancellationScope.nonCancellable(async () => {
      try {
        const r = await acts.restoreEmailSettings({ ...target, installationId: spec.installationId });
        if (!r.restored) restored = 'nothing had changed';
      } catch (undoErr) {
        restored = `putting the previous settings back failed too (${rootCauseMessage(undoErr)}): run \`trigger-ops email show\` and fix them on Railway`;
      }
    });
    throw ApplicationFailure.nonRetryable(`email ${settings.transport === 'none' ? 'unset' : 'set'} failed: ${cause}; ${restored}`, ErrorType.EmailSetFailed);
  }
  await acts.forgetEmailSnapshot({ installationId: spec.installationId });
  const transport = settings.transport;
  const outcome = !applied.changed ? 'unchanged' : transport === 'none' ? 'removed' : 'configured';
  const message =
    transport === 'none'
      ? applied.changed
        ? 'email settings removed: the webapp prints magic links to its log again (trigger-ops login finds them)'
        : 'no email settings were set: nothing changed'
      : `email via ${transport} ${applied.changed ? 'configured' : 'unchanged'}; a verification magic link was sent to ${verifyTo ?? '?'} by email`;
  return { outcome, transport, warnings, verifiedTo: verifyTo, deploymentId, message };
}
