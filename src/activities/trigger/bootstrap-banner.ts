/** What the webapp's one-time bootstrap banner gives away (apps/webapp/app/bootstrap.ts). */
export interface BootstrapToken {
  readonly workerGroup: string;
  readonly token: string;
}

const TOKEN = /\btr_wgt_[0-9A-Za-z]{40}\b/;
const HEADER = 'Trigger.dev Bootstrap - Worker Token';

/**
 * Finds the bootstrap banner in deployment log lines (one line per entry, or whole multi-line messages) and returns
 * the last one printed; undefined if there is none (the group already existed, or the logs were rotated away).
 */
export function parseBootstrapBanner(messages: readonly string[]): BootstrapToken | undefined {
  const lines = messages.flatMap((m) => m.split(/\r?\n/)).map((l) => l.trim());
  let found: BootstrapToken | undefined;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== HEADER) continue;
    let group: string | undefined;
    let token: string | undefined;
    for (let j = i + 1; j < lines.length && lines[j] !== HEADER; j++) {
      const line = lines[j] ?? '';
      if (line === 'Worker group:' && group === undefined) group = nextNonEmpty(lines, j);
      const m = /^TRIGGER_WORKER_TOKEN=(tr_wgt_\S+)$/.exec(line) ?? (line === 'Token:' ? [line, nextNonEmpty(lines, j)] : null);
      if (token === undefined && m?.[1] && TOKEN.test(m[1])) token = m[1];
      if (/^=+$/.test(line) && token !== undefined) break;
    }
    if (group !== undefined && token !== undefined) found = { workerGroup: group, token };
  }
  return found;
}

function nextNonEmpty(lines: readonly string[], index: number): string | undefined {
  for (let k = index + 1; k < lines.length; k++) if (lines[k]) return lines[k];
  return undefined;
}
