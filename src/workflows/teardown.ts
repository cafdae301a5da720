import { defineQuery, log, patched, setHandler } from '@temporalio/workflow';
import { z } from 'zod';
import { installationIdSchema } from '../shared/ids';
import { acts } from './activity-proxy';
import { parseInput, withoutArguments } from './validate';

export const teardownInputSchema = z
  .object({
    installationId: installationIdSchema,
    /** Also forget the installation's secrets (controller SSH key, host key, worker token). */
    forgetSecrets: z.boolean().default(true),
  })
  .strict();

export type TeardownInput = z.input<typeof teardownInputSchema>;

export interface TeardownResult {
  readonly installationId: string;
  readonly supervisorStopped: boolean;
  readonly dropletsDeleted: number;
  /** Droplets that carried the installation's tag under a name trigger-ops never gives: left alone (now untagged). */
  readonly dropletsKept: readonly string[];
  readonly firewallDeleted: boolean;
  readonly sshKeyDeleted: boolean;
  readonly secretsForgotten: boolean;
  /** The installation's tag `trigger-ops-<id>`, deleted last. */
  readonly tagDeleted: boolean;
}

export const teardownProgressQuery = defineQuery<{ readonly step: string }>('progress');

/**
 * Removes everything an installation has on DigitalOcean, by its tag and deterministic names, and the tag last. Idempotent: safe after
 * a failed deploy, after a partial teardown, and when run twice. Railway's webapp is left as it is.
 */
export async function teardown(input: TeardownInput): Promise<TeardownResult> {
  const { installationId, forgetSecrets } = parseInput(teardownInputSchema, input, 'teardown');
  let step = 'retire-installation';
  setHandler(teardownProgressQuery, withoutArguments('progress query', () => ({ step })));

  // No heal may recreate what is being deleted, and no operation may run on it: the schedule is gone, the
  // installation has finished its current operation (a deploy included), cancelled its queue and refuses the rest.
  await acts.retireInstallation({ installationId, timeoutSeconds: 900 });
  step = 'stop-supervisor';
  // The supervisor is stopped first so that no run is dequeued onto a droplet about to vanish.
  const stopped = await acts.stopSupervisors({ installationId });
  step = 'droplets';
  const droplets = await acts.deleteDroplets({ installationId });
  step = 'firewall';
  const firewall = await acts.deleteFirewall({ installationId });
  step = 'ssh-key';
  const sshKey = await acts.deleteSshKey({ installationId });
  step = 'secrets';
  if (forgetSecrets) await acts.forgetInstallationSecrets({ installationId });
  step = 'tag';
  // Last on DigitalOcean: until now the tag is how every step above (and a rerun after a failure) finds the
  // installation's droplets.
  const tag = patched('teardown-deletes-tag') ? await acts.deleteInstallationTag({ installationId }) : { deleted: false };
  if (patched('teardown-ends-installation')) {
    step = 'end-installation';
    // Only now may a new deploy start a fresh installation: until here the retired one refused every request.
    await acts.endInstallation({ installationId });
  }
  step = 'done';
  log.info('teardown done', { installationId, droplets: droplets.deleted });
  return {
    installationId,
    supervisorStopped: stopped.stopped > 0,
    dropletsDeleted: droplets.deleted,
    dropletsKept: droplets.kept ?? [],
    firewallDeleted: firewall.deleted,
    sshKeyDeleted: sshKey.deleted,
    secretsForgotten: forgetSecrets,
    tagDeleted: tag.deleted,
  };
}
