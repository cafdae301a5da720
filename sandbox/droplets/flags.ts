export interface ParsedFlags {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly bools: ReadonlySet<string>;
  readonly positional: readonly string[];
}

/**
 * Minimal getopt for the stand-ins: `--name value`, `--name=value`, `-n value`, and bundled short booleans
 * (`-af`). `valueFlags` lists the flags that take a value; everything else starting with `-` is a boolean.
 * Parsing stops at the first positional when `stopAtPositional` is set (for subcommands).
 */
export function parseFlags(argv: readonly string[], valueFlags: readonly string[], stopAtPositional = false): ParsedFlags {
  const values = new Map<string, string[]>();
  const bools = new Set<string>();
  const positional: string[] = [];
  const add = (name: string, value: string) => values.set(name, [...(values.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(0, eq) : arg;
      if (eq >= 0) add(name, arg.slice(eq + 1));
      else if (valueFlags.includes(name)) add(name, argv[++i] ?? '');
      else bools.add(name);
    } else if (arg.startsWith('-') && arg.length > 1) {
      if (valueFlags.includes(arg)) add(arg, argv[++i] ?? '');
      else for (const ch of arg.slice(1)) bools.add(`-${ch}`);
    } else if (stopAtPositional) {
      positional.push(...argv.slice(i));
      break;
    } else {
      positional.push(arg);
    }
  }
  return { values, bools, positional };
}

export function lastValue(flags: ParsedFlags, ...names: string[]): string | undefined {
  for (const name of names) {
    const list = flags.values.get(name);
    if (list && list.length > 0) return list[list.length - 1];
  }
  return undefined;
}

export function hasFlag(flags: ParsedFlags, ...names: string[]): boolean {
  return names.some((n) => flags.bools.has(n));
}

/** Renders the small subset of Go templates agents use with --format: `{{json .}}`, `{{.A.B}}`, `{{json .A}}`. */
export function renderGoTemplate(template: string, value: unknown): string {
  return template.replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_all, json: string | undefined, path: string) => {
    let current: unknown = value;
    for (const key of path.split('.').filter(Boolean)) {
      current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
    }
    if (json) return JSON.stringify(current ?? null);
    if (current === undefined || current === null) return '<no value>';
    return typeof current === 'object' ? JSON.stringify(current) : String(current);
  });
}
