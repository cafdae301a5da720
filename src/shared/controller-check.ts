import { z } from 'zod';

export const controllerCheckInputSchema = z
  .object({
    /** Free text recorded with the check, e.g. who asked for it. */
    reason: z.string().max(200).default('manual'),
  })
  .strict();

export type ControllerCheckInput = z.input<typeof controllerCheckInputSchema>;

export interface ControllerCheckResult {
  readonly reason: string;
  readonly workerIdentity: string;
  readonly nodeVersion: string;
  readonly dataDirWritable: boolean;
  readonly codecKeyId: string;
  readonly checkedAt: string;
}
