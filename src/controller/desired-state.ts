import { z } from 'zod';
import type { Config } from '../config';
import { regionSlugSchema, sizeSlugSchema, supervisorVersionSchema } from '../shared/deploy';
import { installationIdSchema } from '../shared/ids';
import { describeZodError } from '../shared/validation';

/**
 * What `trigger-ops controller` keeps true, from its environment. Unset values mean "as deployed" (and the deploy's
 * defaults for a first deploy), so a controller started beside an installation made by hand changes nothing it was
 * not told to change.
 */
export const controllerDesiredSchema = z
  .object({
    installationId: installationIdSchema,
    region: regionSlugSchema.optional(),
    size: sizeSlugSchema.optional(),
    supervisorVersion: supervisorVersionSchema.optional(),
  })
  .strict();
export type ControllerDesired = z.output<typeof controllerDesiredSchema>;

const ENV_NAMES: Record<keyof ControllerDesired, string> = {
  installationId: 'TRIGGER_OPS_INSTALLATION',
  region: 'TRIGGER_OPS_REGION',
  size: 'TRIGGER_OPS_SIZE',
  supervisorVersion: 'TRIGGER_OPS_SUPERVISOR_VERSION',
};

/** The desired state, or the reason it is not one, naming the variable and what it accepts. */
export function desiredFromConfig(config: Config, defaultInstallation: string): { desired: ControllerDesired } | { problem: string } {
  const c = config.controller;
  const parsed = controllerDesiredSchema.safeParse({
    installationId: c.installation ?? defaultInstallation,
    ...(c.region !== undefined && { region: c.region }),
    ...(c.size !== undefined && { size: c.size }),
    ...(c.supervisorVersion !== undefined && { supervisorVersion: c.supervisorVersion }),
  });
  if (parsed.success) return { desired: parsed.data };
  const described = describeZodError(parsed.error);
  const named = Object.entries(ENV_NAMES).reduce((text, [field, env]) => text.split(`input.${field}`).join(env), described);
  return { problem: `desired state: ${named}` };
}
