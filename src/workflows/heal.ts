import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { z } from 'zod';
import { installationIdSchema, workflowIds } from '../shared/ids';
import type { HealWorkflowInput } from '../shared/lifecycle';
import { healSignal } from '../shared/installation-messages';
import { parseInput } from './validate';

const healInputSchema = z.object({ installationId: installationIdSchema }).strict();

/**
 * What the heal schedule (`heal:<id>`) runs: asks the installation workflow for a heal check. The check and any
 * repair run inside the installation, in line with its other operations, so a check never observes (and "repairs")
 * a supervisor that an upgrade or a migration is replacing at that moment.
 */
export async function heal(input: HealWorkflowInput): Promise<{ readonly requested: boolean; readonly reason: string }> {
  const { installationId } = parseInput(healInputSchema, input, 'heal');
  try {
    await getExternalWorkflowHandle(workflowIds.installation(installationId)).signal(healSignal, { source: 'schedule' });
    return { requested: true, reason: 'heal check queued on the installation workflow' };
  } catch (err) {
    // No installation workflow (torn down, never deployed): nothing to heal, and failing would only add noise.
    log.warn('no installation workflow to heal', { installationId, error: err instanceof Error ? err.message : String(err) });
    return { requested: false, reason: `no running workflow ${workflowIds.installation(installationId)}` };
  }
}
