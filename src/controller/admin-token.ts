import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import { ConfigError } from '../shared/errors';

/** Where a generated admin token is kept (0600), so every boot on the same volume uses the same one. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  readonly token: string;
  readonly source: 'environment' | 'data-dir' | 'generated';
}

/**
 * The token that opens /status and the status page: TRIGGER_OPS_ADMIN_TOKEN, else the one generated at the first boot
 * into the data dir. A generated token is logged once, when it is made (Railway's deploy log is where the person who
 * deployed the template sees it); later boots only say where it is kept.
 */
export function resolveAdminToken(config: Pick<Config, 'adminToken' | 'dataDir'>, log: (m: string) => void): AdminToken {
  if (config.adminToken) return { token: config.adminToken, source: 'environment' };
  const path = join(config.dataDir, ADMIN_TOKEN_FILE);
  const kept = readKept(path);
  if (kept !== undefined) {
    chmodSync(path, 0o600);
    log(`status page: admin token from ${path} (set TRIGGER_OPS_ADMIN_TOKEN to choose your own)`);
    return { token: kept, source: 'data-dir' };
  }
  const token = randomBytes(32).toString('base64url');
  mkdirSync(config.dataDir, { recursive: true });
  try {
    // 'wx': if two boots race, the second takes the first one's token instead of replacing the one it logged.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const raced = (err as NodeJS.ErrnoException).code === 'EEXIST' ? readKept(path) : undefined;
    if (raced === undefined) throw err;
    return { token: raced, source: 'data-dir' };
  }
  log(
    `status page: generated the admin token ${token} (shown only this once; kept in ${path}; ` +
      'set TRIGGER_OPS_ADMIN_TOKEN to choose your own)',
  );
  return { token, source: 'generated' };
}

function readKept(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const token = text.trim();
  if (token.length < 16) {
    throw new ConfigError(`${path} does not hold an admin token of at least 16 characters: delete it to generate a new one, or set TRIGGER_OPS_ADMIN_TOKEN.`);
  }
  return token;
}
