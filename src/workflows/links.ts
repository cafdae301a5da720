import { linksInputSchema, type LinksInput, type LinksResult } from '../shared/email';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/** `trigger-ops links` (id `links:<id>`): every magic link and invitation the webapp printed to its log, URLs sealed. Read-only. */
export async function links(input: LinksInput): Promise<LinksResult> {
  const spec = parseInput(linksInputSchema, input, 'links');
  const target = await acts.resolveRailwayTarget(spec.railway);
  return acts.listLoggedEmails({ ...target, since: spec.since });
}
