import { ApplicationFailure, defineQuery, log, patched, setHandler } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors';
import { resourceNames } from '../shared/ids';
import { migrateWorkflowInputSchema, type MigrateWorkflowInput, type MigrateWorkflowResult } from '../shared/lifecycle';
import { acts, bestEffort } from './activity-proxy';
import { failureType, rootCauseMessage, Saga } from './saga';
import { parseInput, withoutArguments } from './validate';

export const migrateProgressQuery = defineQuery<{ readonly step: string }>('progress');

/**
 * Blue-green move of the supervisor to a new droplet (generation N+1): create (compensation first), boot, bootstrap,
 * apply config, health gate; then stop the old supervisor, check the new one still serves, delete the old droplet.
 * On any failure the new droplet is deleted and the old supervisor is started again: exactly one serves.
 */
export async function migrate(raw: MigrateWorkflowInput): Promise<MigrateWorkflowResult> {
  const input = parseInput(migrateWorkflowInputSchema, raw, 'migrate');
  const { installationId, from, target, generation } = input;
  let step = 'validate';
  setHandler(migrateProgressQuery, withoutArguments('progress query', () => ({ step })));
  if (patched('migrate-checks-ownership')) {
    // The old droplet is deleted at the end: it must be this installation's (a dead one is fine, heal replaces it).
    step = 'check-ownership';
    await acts.checkDropletOwnership({ installationId, dropletId: from.droplet.id }).catch((err: unknown) => {
      throw ApplicationFailure.create({
        type: failureType(err) ?? ErrorType.MigrateFailed,
        message: `migrate refused at step "check-ownership": ${rootCauseMessage(err)}`,
        nonRetryable: true,
        ...(err instanceof Error ? { cause: err } : {}),
      });
    });
  }
  const saga = new Saga();
  const name = resourceNames(installationId).droplet(generation);
  try {
    const placement = await acts.validateDropletPlacement(target);
    step = 'ssh-key';
    const sshKey = await acts.ensureSshKey({ installationId });

    step = 'create-droplet';
    saga.add('new-droplet', () => acts.deleteDropletByName({ installationId, name }));
    const created = await acts.ensureDroplet({ installationId, generation, ...target, sshKeyId: sshKey.id, monitoring: true });
    const droplet = await acts.waitForDropletActive({ dropletId: created.id, timeoutSeconds: input.bootTimeoutSeconds });
    const host = { installationId, ipv4: droplet.ipv4 };

    step = 'bootstrap';
    await acts.waitForCloudInit({ ...host, timeoutSeconds: input.bootTimeoutSeconds });

    step = 'apply-config';
    const applied = await acts.applySupervisorConfig({
      ...host,
      dropletId: created.id,
      ...from.railway,
      supervisorVersion: from.supervisorVersion,
      apiUrl: from.apiUrl,
    });

    step = 'health-gate';
    await acts.waitForSupervisorHealthy({ ...host, supervisorVersion: from.supervisorVersion, timeoutSeconds: input.healthTimeoutSeconds });

    step = 'stop-old';
    // Only a live old droplet is touched: a deleted one's address may already belong to the new droplet (same
    // pinned host key per installation), and stopping "it" would stop the new supervisor.
    const oldLive = (await acts.listInstallationDroplets({ installationId })).find(
      (d) => d.id === from.droplet.id && d.status === 'active' && d.ipv4 === from.droplet.ipv4 && d.ipv4 !== droplet.ipv4,
    );
    if (oldLive) {
      // Best effort: an old droplet that died meanwhile cannot be restarted, and then nothing serves from it anyway.
      saga.add('restart-old-supervisor', () => bestEffort.restartSupervisor({ installationId, ipv4: from.droplet.ipv4 }).catch(() => undefined));
      await bestEffort.stopSupervisor({ installationId, ipv4: from.droplet.ipv4 }).catch((err: unknown) => {
        // An unreachable old droplet serves nothing: there is nothing to stop.
        log.warn('old supervisor could not be stopped', { error: rootCauseMessage(err) });
      });
    }

    step = 'recheck-new';
    await acts.waitForSupervisorHealthy({ ...host, supervisorVersion: from.supervisorVersion, timeoutSeconds: input.healthTimeoutSeconds });

    step = 'delete-old';
    const deleted = await acts.deleteDroplet({ installationId, dropletId: from.droplet.id });
    step = 'done';
    return {
      droplet: { id: created.id, name: created.name, ipv4: droplet.ipv4 },
      configHash: applied.configHash,
      oldDropletDeleted: deleted.deleted,
      monthlyPriceUsd: placement.monthlyPriceUsd,
    };
  } catch (err) {
    const failedStep = step;
    step = 'rolling-back';
    const leftovers = await saga.compensate();
    step = 'rolled-back';
    throw ApplicationFailure.create({
      type: leftovers.length > 0 ? ErrorType.RollbackIncomplete : ErrorType.MigrateFailed,
      message: `migrate failed at step "${failedStep}": ${rootCauseMessage(err)}.${
        leftovers.length > 0 ? ` Could not undo: ${leftovers.join(', ')}.` : ' The new droplet was removed; the old one keeps serving.'
      }`,
      nonRetryable: true,
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }
}
