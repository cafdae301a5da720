import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { validateCloudConfig } from '../../src/remote/cloud-config-schema';

export type CloudInitStatus = 'running' | 'done' | 'error';

export interface WrittenFile {
  readonly path: string;
  readonly owner: string;
  readonly permissions: string;
  readonly append: boolean;
  readonly deferred: boolean;
}

/** What cloud-init did on this droplet, shown by `cloud-init status` and `inspect(id)`. */
export interface CloudInitRecord {
  status: CloudInitStatus;
  errors: string[];
  readonly startedAt: string;
  finishedAt: string | undefined;
  readonly files: WrittenFile[];
  readonly packages: string[];
  packageUpdate: boolean;
  packageUpgrade: boolean;
  readonly users: string[];
}

export type UserData =
  | { readonly kind: 'none' }
  | { readonly kind: 'script'; readonly script: string }
  | { readonly kind: 'cloud-config'; readonly config: Record<string, unknown> }
  | { readonly kind: 'invalid'; readonly errors: readonly string[] };

export function readUserData(userData: string | undefined): UserData {
  if (userData === undefined || userData.trim() === '') return { kind: 'none' };
  if (userData.startsWith('#!')) return { kind: 'script', script: userData };
  const result = validateCloudConfig(userData);
  return result.valid ? { kind: 'cloud-config', config: result.config } : { kind: 'invalid', errors: result.errors };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v))
    : [];
}

/** A path on the droplet mapped onto its disk (the host directory `root`); refuses to leave it. */
export function underRoot(root: string, path: string): string {
  const full = resolve(root, `.${path.startsWith('/') ? '' : '/'}${path}`);
  if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) throw new Error(`path ${path} leaves the droplet's root`);
  return full;
}

/** A user's home as the droplet sees it. */
export function homeInside(user: string): string {
  return user === 'root' ? '/root' : `/home/${user}`;
}

export function homeOf(root: string, user: string): string {
  return underRoot(root, homeInside(user));
}

/** Public keys cloud-init installs per user: top-level keys (and the provider's) go to root, the default user. */
export function authorizedKeysByUser(data: UserData, providerKeys: readonly string[]): Map<string, string[]> {
  const byUser = new Map<string, string[]>([['root', [...providerKeys]]]);
  if (data.kind !== 'cloud-config') return byUser;
  const root = byUser.get('root') ?? [];
  root.push(...strings(data.config['ssh_authorized_keys']));
  for (const user of records(data.config['users'])) {
    const name = typeof user['name'] === 'string' ? user['name'] : undefined;
    if (!name) continue;
    const keys = byUser.get(name) ?? [];
    keys.push(...strings(user['ssh_authorized_keys']));
    byUser.set(name, keys);
  }
  return byUser;
}

/** Host private keys from `ssh_keys` (`<type>_private`), as cloud-init installs them. */
export function hostKeysFrom(data: UserData): string[] {
  if (data.kind !== 'cloud-config') return [];
  const keys = data.config['ssh_keys'];
  if (typeof keys !== 'object' || keys === null) return [];
  return ['ed25519', 'ecdsa', 'rsa']
    .map((type) => (keys as Record<string, unknown>)[`${type}_private`])
    .filter((k): k is string => typeof k === 'string');
}

function decode(content: string, encoding: string): Buffer {
  switch (encoding) {
    case 'b64':
    case 'base64':
      return Buffer.from(content, 'base64');
    case 'gz':
    case 'gzip':
      return gunzipSync(Buffer.from(content, 'binary'));
    case 'gz+b64':
    case 'gz+base64':
    case 'gzip+b64':
    case 'gzip+base64':
      return gunzipSync(Buffer.from(content, 'base64'));
    default:
      return Buffer.from(content, 'utf8');
  }
}

function writeFiles(root: string, config: Record<string, unknown>, deferred: boolean, record: CloudInitRecord): void {
  for (const file of records(config['write_files'])) {
    if ((file['defer'] === true) !== deferred) continue;
    const path = typeof file['path'] === 'string' ? file['path'] : undefined;
    if (!path) continue;
    const target = underRoot(root, path);
    const content = decode(
      typeof file['content'] === 'string' ? file['content'] : '',
      typeof file['encoding'] === 'string' ? file['encoding'] : 'text/plain',
    );
    const permissions = typeof file['permissions'] === 'string' ? file['permissions'] : '0644';
    const append = file['append'] === true;
    mkdirSync(dirname(target), { recursive: true });
    if (append) appendFileSync(target, content);
    else writeFileSync(target, content);
    chmodSync(target, parseInt(permissions, 8));
    record.files.push({
      path,
      owner: typeof file['owner'] === 'string' ? file['owner'] : 'root:root',
      permissions,
      append,
      deferred,
    });
  }
}

/** cloud-init's init stage: users, their keys, host keys and the files not deferred. Runs before sshd starts. */
export function applyInitStage(
  root: string,
  data: UserData,
  providerKeys: readonly string[],
  hostKey: string,
  record: CloudInitRecord,
): void {
  for (const [user, keys] of authorizedKeysByUser(data, providerKeys)) {
    const sshDir = join(homeOf(root, user), '.ssh');
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(sshDir, 'authorized_keys'), keys.map((k) => `${k.trim()}\n`).join(''), { mode: 0o600 });
    record.users.push(user);
  }
  const sshd = underRoot(root, '/etc/ssh');
  mkdirSync(sshd, { recursive: true });
  writeFileSync(join(sshd, 'ssh_host_ed25519_key'), hostKey, { mode: 0o600 });
  if (data.kind === 'cloud-config') writeFiles(root, data.config, false, record);
}

function quoteArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The runcmd script cloud-init writes to /var/lib/cloud/instance/scripts/runcmd. */
export function runcmdScript(config: Record<string, unknown>): string | undefined {
  const runcmd = config['runcmd'];
  if (!Array.isArray(runcmd) || runcmd.length === 0) return undefined;
  const lines = runcmd.map((item: unknown) =>
    Array.isArray(item) ? item.map((a) => quoteArg(String(a))).join(' ') : String(item),
  );
  return `#!/bin/sh\n${lines.join('\n')}\n`;
}

export type RunScript = (path: string, logPath: string) => Promise<number>;

/**
 * cloud-init's config and final stages: packages (recorded), deferred files, then the user scripts (runcmd or a
 * `#!` user-data script), run by bash with the droplet's environment. Errors end up in the record.
 */
export async function runFinalStage(root: string, data: UserData, record: CloudInitRecord, run: RunScript): Promise<void> {
  const logPath = underRoot(root, '/var/log/cloud-init-output.log');
  mkdirSync(dirname(logPath), { recursive: true });
  const scriptsDir = underRoot(root, '/var/lib/cloud/instance/scripts');
  let script: string | undefined;
  if (data.kind === 'script') script = data.script;
  if (data.kind === 'cloud-config') {
    const config = data.config;
    record.packageUpdate = config['package_update'] === true || config['apt_update'] === true;
    record.packageUpgrade = config['package_upgrade'] === true || config['apt_upgrade'] === true;
    for (const pkg of Array.isArray(config['packages']) ? config['packages'] : []) {
      record.packages.push(Array.isArray(pkg) ? pkg.map(String).join('=') : String(pkg));
    }
    if (record.packageUpdate) appendFileSync(logPath, 'Reading package lists...\n');
    if (record.packages.length > 0) appendFileSync(logPath, `Setting up ${record.packages.join(', ')} ...\n`);
    writeFiles(root, config, true, record);
    script = runcmdScript(config);
  }
  if (script === undefined) return;
  const name = data.kind === 'script' ? 'part-001' : 'runcmd';
  mkdirSync(scriptsDir, { recursive: true });
  const path = join(scriptsDir, name);
  writeFileSync(path, script, { mode: 0o700 });
  const code = await run(path, logPath);
  if (code !== 0) {
    record.errors.push(
      `('scripts_user', RuntimeError('Runparts: 1 failures (${name}) in /var/lib/cloud/instance/scripts'))`,
    );
  }
}
