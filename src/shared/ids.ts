import { z } from 'zod';

/** The task queue every trigger-ops worker polls. */
export const TASK_QUEUE = 'trigger-ops';

/** An installation id: a short DNS-safe slug, used in workflow ids, tags and resource names. */
export const installationIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, {
    message: 'must be 2-32 characters: lowercase letters, digits and "-", starting with a letter (e.g. "prod")',
  });

export type InstallationId = z.infer<typeof installationIdSchema>;

/** Deterministic, documented workflow ids: the Temporal CLI, the UI and our CLI all find the same executions. */
export const workflowIds = {
  controllerCheck: () => 'controller-check',
} as const;
