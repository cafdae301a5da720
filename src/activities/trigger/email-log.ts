/**
 * The emails a webapp without a transport prints to its log. Its console transport (internal-packages/emails
 * src/transports/null.ts) writes one console.log of
 *
 *     \n##### sendEmail to <to>, subject: <subject>\n\n<plain-text body>\n
 *
 * which Railway stores as one log entry per line, so the header and the link are separate entries: the body is
 * the lines after a header, up to the next header, a structured log line, or a pause in the output.
 */

export interface LogEntry {
  readonly timestamp: string;
  readonly message: string;
}

export interface PrintedEmail {
  readonly to: string;
  readonly subject: string;
  readonly at: string;
  /** The first link of the body: the magic link or the invitation's. */
  readonly url: string | undefined;
  readonly kind: 'magic-link' | 'invitation' | 'other';
}

const HEADER = /^\s*##### sendEmail to (.+?), subject: (.*?)\s*$/;
const URL = /https?:\/\/[^\s<>"')\]]+/;
/** Lines of one console.log share a timestamp in practice; a longer pause means the body ended. */
const BODY_GAP_MS = 2000;
const BODY_MAX_LINES = 200;

/** Every email printed in the entries (any order), oldest first. */
export function parsePrintedEmails(entries: readonly LogEntry[]): PrintedEmail[] {
  const lines = entries
    .flatMap((e) => e.message.split(/\r?\n/).map((message) => ({ timestamp: e.timestamp, message })))
    .map((l, i) => ({ ...l, i, ms: Date.parse(l.timestamp) }))
    .sort((a, b) => a.ms - b.ms || a.i - b.i);
  const emails: PrintedEmail[] = [];
  for (let h = 0; h < lines.length; h++) {
    const header = HEADER.exec(lines[h]?.message ?? '');
    if (!header) continue;
    const start = lines[h] as (typeof lines)[number];
    let url: string | undefined;
    for (let j = h + 1; j < lines.length && j <= h + BODY_MAX_LINES; j++) {
      const line = lines[j] as (typeof lines)[number];
      if (HEADER.test(line.message) || line.ms - start.ms > BODY_GAP_MS || /^\s*\{".*\}\s*$/.test(line.message)) break;
      const found = URL.exec(line.message)?.[0];
      if (found && (url === undefined || (/\/magic\?token=/.test(found) && !/\/magic\?token=/.test(url)))) url = found;
    }
    const to = header[1] ?? '';
    const subject = header[2] ?? '';
    emails.push({ to, subject, at: start.timestamp, url, kind: kindOf(url, subject) });
  }
  return emails;
}

function kindOf(url: string | undefined, subject: string): PrintedEmail['kind'] {
  if (url && /\/magic\?token=/.test(url)) return 'magic-link';
  if ((url && /invite/i.test(url)) || /invit/i.test(subject)) return 'invitation';
  return 'other';
}

/** Whether a log line is a console-transport header for this address (the verification's fallback check). */
export function isConsoleFallbackFor(message: string, to: string): boolean {
  const header = HEADER.exec(message);
  return header !== null && (header[1] ?? '').toLowerCase() === to.toLowerCase();
}
