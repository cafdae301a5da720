import { emailShowInputSchema, type EmailShowInput, type EmailState } from '../shared/email';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/** `email show` and the email line of `status` (id `email-show:<id>`): the webapp's email settings, secrets masked. Read-only. */
export async function emailShow(input: EmailShowInput): Promise<EmailState & { readonly service: string }> {
  const spec = parseInput(emailShowInputSchema, input, 'emailShow');
  const target = await acts.resolveRailwayTarget(spec.railway);
  return acts.readEmailSettings(target);
}
