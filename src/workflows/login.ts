import { loginInputSchema, type LoginInput, type LoginResult } from '../shared/email';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/**
 * `trigger-ops login <email>` (id `login:<id>`): asks the webapp for a magic link (its real login action) and,
 * when it has no email transport, finds the link in its Railway log. The link comes back sealed: only the CLI
 * opens it, so it is in no history, log or error.
 */
export async function login(input: LoginInput): Promise<LoginResult> {
  const spec = parseInput(loginInputSchema, input, 'login');
  const target = await acts.resolveRailwayTarget(spec.railway);
  const r = await acts.requestLoginLink({ ...target, email: spec.email });
  return {
    email: spec.email,
    transport: r.transport,
    sentByEmail: r.sentByEmail,
    link: r.link,
    message: r.sentByEmail
      ? `the magic link for ${spec.email} was sent by email (${r.transport}): check that inbox`
      : `magic link for ${spec.email} found in the webapp's log`,
  };
}
