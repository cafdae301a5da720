import type { LogRecord } from './model';

/**
 * A subset of Railway's log search syntax: terms joined by AND; `@key:value` matches an attribute (`@level` the
 * severity), any other term is a case-insensitive substring of the message, `-term` negates.
 */
export function matchesLogFilter(log: LogRecord, filter: string | undefined): boolean {
  if (!filter?.trim()) return true;
  return filter
    .split(/\s+AND\s+/i)
    .map((t) => t.trim())
    .filter(Boolean)
    .every((term) => {
      const negated = term.startsWith('-');
      const body = (negated ? term.slice(1) : term).replace(/^"(.*)"$/, '$1');
      const attr = /^@([\w.]+):(.+)$/.exec(body);
      let hit: boolean;
      if (attr) {
        const [, key = '', value = ''] = attr;
        const actual = key === 'level' ? log.severity : log.attributes[key];
        hit = actual?.toLowerCase() === value.replace(/^"(.*)"$/, '$1').toLowerCase();
      } else {
        hit = log.message.toLowerCase().includes(body.toLowerCase());
      }
      return negated ? !hit : hit;
    });
}
