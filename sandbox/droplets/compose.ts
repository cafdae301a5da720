import { existsSync, readFileSync } from 'node:fs';
import { underRoot } from './cloud-init';
import { basename, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface ComposeService {
  readonly name: string;
  readonly image: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly restart: RestartPolicy;
  readonly healthcheck: boolean;
  readonly dependsOn: readonly string[];
  /** Recorded, not enforced. */
  readonly recorded: Readonly<Record<string, unknown>>;
}

export interface ComposeProject {
  readonly name: string;
  readonly services: readonly ComposeService[];
}

export class ComposeError extends Error {
  override readonly name = 'ComposeError';
}

/** Parses a .env file the way compose does for interpolation: KEY=VALUE, quotes, comments, `export`. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] ?? '';
    let value = match[2] ?? '';
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    env[key] = value;
  }
  return env;
}

/** Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?msg}`, `${VAR?msg}`. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>, where: string): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      if (bare !== undefined) return vars[bare] ?? '';
      const key = name ?? '';
      const value = vars[key];
      const empty = value === undefined || (op?.startsWith(':') === true && value === '');
      switch (op) {
        case ':-':
        case '-':
          return empty ? interpolate(arg ?? '', vars, where) : (value ?? '');
        case ':?':
        case '?':
          if (empty) {
            throw new ComposeError(
              `error while interpolating ${where}: required variable ${key} is missing a value${arg ? `: ${arg}` : ''}`,
            );
          }
          return value ?? '';
        case ':+':
        case '+':
          return empty ? '' : interpolate(arg ?? '', vars, where);
        default:
          return value ?? '';
      }
    },
  );
}

function interpolateTree(value: unknown, vars: Readonly<Record<string, string>>, where: string): unknown {
  if (typeof value === 'string') return interpolate(value, vars, where);
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, vars, `${where}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateTree(v, vars, where ? `${where}.${k}` : k)]),
    );
  }
  return value;
}

function scalar(value: unknown): string {
  return value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function environmentOf(value: unknown, shell: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq < 0) {
        const fromShell = shell[text];
        if (fromShell !== undefined) env[text] = fromShell;
      } else env[text.slice(0, eq)] = text.slice(eq + 1);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) {
        const fromShell = shell[k];
        if (fromShell !== undefined) env[k] = fromShell;
      } else env[k] = scalar(v);
    }
  }
  return env;
}

function restartOf(value: unknown, service: string): RestartPolicy {
  const text = value === undefined ? 'no' : scalar(value).split(':')[0];
  if (text === 'no' || text === 'always' || text === 'unless-stopped' || text === 'on-failure') return text;
  throw new ComposeError(`services.${service}.restart: invalid restart policy "${scalar(value)}"`);
}

export interface LoadComposeOptions {
  /** The host directory that is the droplet's `/`; every path below is the droplet's and is read under it. */
  readonly root: string;
  readonly cwd: string;
  readonly projectDirectory: string | undefined;
  readonly files: readonly string[];
  readonly envFiles: readonly string[];
  readonly projectName: string | undefined;
  /** The calling shell's environment; it wins over the env file, as in compose. */
  readonly shellEnv: Readonly<Record<string, string>>;
}

export function loadComposeProject(options: LoadComposeOptions): ComposeProject {
  const projectDir = resolve(options.cwd, options.projectDirectory ?? '.');
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(options.cwd, p));
  const files = options.files.length > 0 ? options.files.map(abs) : [resolve(projectDir, 'compose.yaml')];
  const envFiles = options.envFiles.length > 0 ? options.envFiles.map(abs) : [resolve(projectDir, '.env')];
  const onDisk = (p: string) => underRoot(options.root, p);
  let vars: Record<string, string> = {};
  for (const envFile of envFiles) {
    if (existsSync(onDisk(envFile))) vars = { ...vars, ...parseEnvFile(readFileSync(onDisk(envFile), 'utf8')) };
    else if (options.envFiles.length > 0) throw new ComposeError(`couldn't find env file: ${envFile}`);
  }
  vars = { ...vars, ...options.shellEnv };
  const merged: Record<string, unknown> = {};
  const services: Record<string, Record<string, unknown>> = {};
  for (const file of files) {
    if (!existsSync(onDisk(file))) throw new ComposeError(`open ${file}: no such file or directory`);
    let doc: unknown;
    try {
      doc = parse(readFileSync(onDisk(file), 'utf8'), { merge: true });
    } catch (err) {
      throw new ComposeError(`yaml: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof doc !== 'object' || doc === null) throw new ComposeError(`${file}: empty compose file`);
    const tree = interpolateTree(doc, vars, '') as Record<string, unknown>;
    Object.assign(merged, tree);
    const fileServices = tree['services'];
    if (typeof fileServices === 'object' && fileServices !== null) {
      for (const [name, spec] of Object.entries(fileServices)) {
        services[name] = { ...(services[name] ?? {}), ...(spec as Record<string, unknown>) };
      }
    }
  }
  const name = options.projectName ?? (typeof merged['name'] === 'string' ? merged['name'] : basename(projectDir));
  if (Object.keys(services).length === 0) throw new ComposeError('no service defined in the compose file');
  const out: ComposeService[] = Object.entries(services).map(([service, spec]) => {
    const image = spec['image'];
    if (typeof image !== 'string' || !image) throw new ComposeError(`service "${service}" has neither an image nor a build context specified`);
    const dependsOn = spec['depends_on'];
    const recorded: Record<string, unknown> = {};
    for (const key of ['networks', 'ports', 'volumes', 'logging', 'healthcheck', 'user', 'command']) {
      if (spec[key] !== undefined) recorded[key] = spec[key];
    }
    return {
      name: service,
      image,
      environment: environmentOf(spec['environment'], vars),
      restart: restartOf(spec['restart'], service),
      healthcheck: typeof spec['healthcheck'] === 'object' && spec['healthcheck'] !== null,
      dependsOn: Array.isArray(dependsOn)
        ? dependsOn.map(String)
        : typeof dependsOn === 'object' && dependsOn !== null
          ? Object.keys(dependsOn)
          : [],
      recorded,
    };
  });
  return { name, services: orderByDependencies(out) };
}

function orderByDependencies(services: readonly ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const ordered: ComposeService[] = [];
  const seen = new Set<string>();
  const visit = (s: ComposeService, path: readonly string[]) => {
    if (seen.has(s.name)) return;
    if (path.includes(s.name)) throw new ComposeError(`dependency cycle detected: ${[...path, s.name].join(' -> ')}`);
    for (const dep of s.dependsOn) {
      const target = byName.get(dep);
      if (!target) throw new ComposeError(`service "${s.name}" depends on undefined service "${dep}"`);
      visit(target, [...path, s.name]);
    }
    seen.add(s.name);
    ordered.push(s);
  };
  for (const s of services) visit(s, []);
  return ordered;
}
