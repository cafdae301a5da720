import { ApplicationFailure, executeChild } from '@temporalio/workflow';
import { workflowIds } from '../../shared/ids';
import type { MigrateRequest, MigrateResult } from '../../shared/lifecycle';
import { migrate } from '../migrate';
import { rootCauseMessage } from '../saga';
import type { Installation } from './state';

/**
 * Migrate: the blue-green move runs as the child workflow `migrate:<id>` (its own history, its own compensations);
 * on success the new droplet becomes the desired state.
 */
export async function runMigrate(inst: Installation, request: MigrateRequest): Promise<MigrateResult> {
  const { state } = inst;
  const desired = state.desired;
  if (!desired) return { outcome: 'failed', message: 'nothing is deployed yet: run deploy first', from: null, to: null };
  const target = { size: request.size ?? desired.size, region: request.region ?? desired.region, image: request.image ?? desired.image };
  inst.setStep('migrate');
  try {
    const moved = await executeChild(migrate, {
      workflowId: workflowIds.migrate(inst.id),
      args: [
        {
          installationId: inst.id,
          from: desired,
          target,
          generation: desired.generation + 1,
          healthTimeoutSeconds: state.settings.healthTimeoutSeconds,
          bootTimeoutSeconds: state.settings.bootTimeoutSeconds,
        },
      ],
    });
    state.desired = {
      ...desired,
      ...target,
      generation: desired.generation + 1,
      droplet: moved.droplet,
      configHash: moved.configHash,
      ...(moved.monthlyPriceUsd !== undefined ? { monthlyPriceUsd: moved.monthlyPriceUsd } : {}),
    };
    return {
      outcome: 'migrated',
      message: `moved from ${desired.droplet.name} to ${moved.droplet.name} (${target.size}, ${target.region}, ${target.image})`,
      from: { id: desired.droplet.id, name: desired.droplet.name },
      to: { ...moved.droplet, ...target },
    };
  } catch (err) {
    return { outcome: 'failed', message: childFailureMessage(err), from: { id: desired.droplet.id, name: desired.droplet.name }, to: null };
  }
}

/** The child's own failure says at which step it failed and what it undid; the root cause alone would not. */
function childFailureMessage(err: unknown): string {
  for (let c: unknown = err; c instanceof Error; c = c.cause) {
    if (c instanceof ApplicationFailure) return c.message;
  }
  return rootCauseMessage(err);
}
