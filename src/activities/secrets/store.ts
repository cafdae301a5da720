import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Redactor } from './redactor';

/**
 * Where secret values live; workflows only ever hold their names. Values read through a store are registered with
 * the redactor so they can never reach a log or an error message.
 */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  put(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Deletes every secret whose name starts with the prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

/** A 0600 JSON file under the data directory, written atomically (temp file + rename). For local use. */
export function createFileSecretStore(path: string, redactor: Redactor): SecretStore {
  let queue: Promise<unknown> = Promise.resolve();
  // One writer at a time within this process: activities run concurrently.
  const serialized = <T>(fn: () => T): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  // The parsed file, kept while the file is the same one (inode, size and mtime): a heal check reads a few secrets,
  // and 1,000 installations' file is megabytes of JSON. Another process's write (rename) is seen at the next read.
  let cached: { readonly stamp: string; readonly data: Record<string, string> } | undefined;
  const stampOf = (): string | undefined => {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : undefined;
  };
  const read = (): Record<string, string> => {
    const stamp = stampOf();
    if (stamp === undefined) return {};
    if (cached?.stamp === stamp) return { ...cached.data };
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    const data = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
    cached = { stamp, data };
    return { ...data };
  };
  const write = (data: Record<string, string>) => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
    renameSync(tmp, path);
    chmodSync(path, 0o600);
    cached = undefined;
  };
  return {
    get: (name) =>
      serialized(() => {
        const stamp = stampOf();
        const value = stamp !== undefined && cached?.stamp === stamp ? cached.data[name] : read()[name];
        redactor.add(value);
        return value;
      }),
    put: (name, value) =>
      serialized(() => {
        redactor.add(value);
        write({ ...read(), [name]: value });
      }),
    delete: (name) =>
      serialized(() => {
        const data = read();
        delete data[name];
        write(data);
      }),
    deletePrefix: (prefix) =>
      serialized(() => {
        const data = read();
        const names = Object.keys(data).filter((n) => n.startsWith(prefix));
        for (const n of names) delete data[n];
        write(data);
        return names.length;
      }),
  };
}
