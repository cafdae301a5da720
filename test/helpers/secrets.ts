import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { EncryptionCodec } from '../../src/codec/encryption-codec';
import type { World } from './installation';

/**
 * Every secret value in play in a world: the stand-ins' tokens, the webapp's secrets on Railway, what the
 * controller keeps in its secret store (worker token, SSH private keys), and `extra` ones a test knows of (the
 * controller's admin token, a status-page session id).
 */
export function secretValues(world: World, extra: readonly string[] = []): string[] {
  const values = new Set<string>(extra);
  for (const name of ['DIGITALOCEAN_TOKEN', 'RAILWAY_API_TOKEN', 'TRIGGER_ADMIN_TOKEN'] as const) {
    const v = world.sandbox.env[name];
    if (v) values.add(v);
  }
  const vars = world.sandbox.railway.inspect().variables;
  for (const service of Object.values(vars)) {
    for (const [name, value] of Object.entries(service)) {
      if (/SECRET|PASSWORD|TOKEN|KEY/.test(name) && value.length >= 8 && !value.includes('${{')) values.add(value);
      // A connection URL's password (DATABASE_URL, DATABASE_PUBLIC_URL), and the URL itself.
      const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]+:([^@]+)@/i.exec(value)?.[1];
      if (password && !password.includes('${{')) {
        values.add(value);
        values.add(decodeURIComponent(password));
      }
    }
  }
  const store = join(world.dataDir, 'secrets.json');
  if (existsSync(store)) {
    for (const raw of Object.values(JSON.parse(readFileSync(store, 'utf8')) as Record<string, string>)) {
      if (raw.startsWith('{')) {
        const pair = JSON.parse(raw) as { privateKey?: string };
        if (pair.privateKey) values.add(pair.privateKey.split('\n').slice(1, 3).join('\n'));
      } else {
        values.add(raw);
      }
    }
  }
  for (const token of linkValues(world)) values.add(token);
  return [...values];
}

/**
 * Every magic link the webapp issued in a world, as the tokens that make them credentials (a link is
 * `<origin>/magic?token=<token>`): no history, log or error may contain one.
 */
export function linkValues(world: World): string[] {
  return world.sandbox.webapp.magicLinks().map((l) => l.token);
}

/** Magic-link URLs in any text: scanned for wherever a link must not appear. */
export const MAGIC_LINK_PATTERN = /\/magic\?token=[A-Za-z0-9_-]{8,}/;

/**
 * Fails naming where (never the value) when any of `secrets` appears in `text`: for what the controller shows or
 * logs (HTTP bodies, headers, the page's DOM, log lines).
 */
export function assertNoSecrets(text: string, secrets: readonly string[], where: string): void {
  const leaked = secrets.findIndex((s) => s.length > 0 && text.includes(s));
  if (leaked >= 0) throw new Error(`secret #${leaked} of ${secrets.length} appears in ${where}`);
}

/** A workflow's history with every payload decoded through the codec: what the server would show without encryption. */
export async function decodedHistory(client: Client, codec: EncryptionCodec, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const decoded: string[] = [];
  const visit = async (node: unknown): Promise<void> => {
    if (Array.isArray(node)) {
      for (const item of node) await visit(item);
      return;
    }
    if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record['metadata'] && record['data'] instanceof Uint8Array) {
        const [plain] = await codec.decode([{ metadata: record['metadata'] as Record<string, Uint8Array>, data: record['data'] }]);
        decoded.push(Buffer.from(plain?.data ?? []).toString('utf8'));
        return;
      }
      for (const value of Object.values(record)) await visit(value);
    }
  };
  await visit(history);
  return `${JSON.stringify(history)}\n${decoded.join('\n')}`;
}
