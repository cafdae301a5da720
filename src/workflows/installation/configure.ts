import { lifecycleSettingsSchema, type ConfigureRequest, type LifecycleSettings } from '../../shared/lifecycle';
import { acts } from '../activity-proxy';
import type { Installation } from './state';

/** Configure: changes the named settings (the rest stay); a new heal interval is applied to the schedule first. */
export async function runConfigure(inst: Installation, patch: ConfigureRequest): Promise<LifecycleSettings> {
  const { state } = inst;
  const next = lifecycleSettingsSchema.parse({ ...state.settings, ...patch });
  if (next.healIntervalSeconds !== state.settings.healIntervalSeconds && state.desired) {
    inst.setStep('heal-schedule');
    await acts.ensureHealSchedule({ installationId: inst.id, intervalSeconds: next.healIntervalSeconds });
  }
  state.settings = next;
  return next;
}
