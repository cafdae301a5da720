import { z } from 'zod';
import { installationIdSchema } from '../shared/ids';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

export const logsInputSchema = z
  .object({
    installationId: installationIdSchema,
    source: z.enum(['supervisor', 'webapp', 'all']).default('all'),
    tail: z.number().int().min(1).max(5000).default(200),
    railway: z.object({ projectId: z.string().min(1).optional(), environmentId: z.string().min(1).optional() }).strict().default({}),
  })
  .strict();

export type LogsInput = z.input<typeof logsInputSchema>;

export interface LogsResult {
  readonly supervisor: readonly { readonly droplet: string; readonly log: string }[] | null;
  readonly webapp: { readonly service: string; readonly deploymentId: string | null; readonly lines: readonly string[] } | null;
}

/** Recent supervisor logs (over SSH, through the agent) and webapp logs (from Railway). Read-only, redacted. */
export async function logs(input: LogsInput): Promise<LogsResult> {
  const spec = parseInput(logsInputSchema, input, 'logs');
  const wants = (s: 'supervisor' | 'webapp') => spec.source === 'all' || spec.source === s;
  const supervisor = wants('supervisor') ? await acts.supervisorLogs({ installationId: spec.installationId, tail: spec.tail }) : null;
  let webapp: LogsResult['webapp'] = null;
  if (wants('webapp')) {
    const target = await acts.resolveRailwayTarget(spec.railway);
    webapp = await acts.webappLogs({ ...target, tail: spec.tail });
  }
  return { supervisor, webapp };
}
