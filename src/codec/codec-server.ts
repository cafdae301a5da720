import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import type { EncryptionCodec } from './encryption-codec';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** `/encode`, `/decode`, or either under a namespace segment (`--codec-endpoint http://…/{namespace}`). */
const ROUTE = /^(?:\/[^/]+)?\/(encode|decode)$/;
/** Larger than any history page the UI or the CLI sends (Temporal's own payload limit is 2 MB each). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface CodecServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Temporal's remote codec protocol (POST /encode, /decode with `{ payloads: [...] }` in proto JSON: base64 data and
 * metadata values), so the Temporal UI (`--ui-codec-endpoint`) and CLI (`--codec-endpoint`) can show encrypted
 * payloads in clear to whoever runs it, failures' `encodedAttributes` (message and stack trace) included.
 * It listens on loopback only and answers CORS only for the given UI origins.
 */
export function startCodecServer(
  codec: EncryptionCodec,
  options: { readonly port?: number; readonly allowedOrigins?: readonly string[]; readonly onUndecodable?: (reason: string) => void } = {},
): Promise<CodecServer> {
  const allowed = new Set(options.allowedOrigins ?? []);
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(err instanceof Error ? err.message : 'bad request');
    });
  });

  /**
   * A payload that does not decode (forged, or another key's) is returned as it is, so the rest of a history still
   * shows in clear instead of the whole request failing; `onUndecodable` hears why.
   */
  async function decodeOrKeep(payload: Payload): Promise<Payload> {
    try {
      const [decoded] = await codec.decode([payload]);
      return decoded ?? payload;
    } catch (err) {
      options.onUndecodable?.(err instanceof Error ? err.message : String(err));
      return payload;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    res.setHeader('vary', 'origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      res.setHeader('access-control-allow-credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(origin && allowed.has(origin) ? 204 : 403).end();
      return;
    }
    const route = ROUTE.exec(req.url?.split('?')[0] ?? '')?.[1];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('POST /encode or /decode (optionally under /<namespace>)');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'POST, OPTIONS' }).end(`POST /${route}`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end(`body over ${MAX_BODY_BYTES} bytes`);
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
    const payloads = (body.payloads ?? []).map(fromJson);
    const result = route === 'encode' ? await codec.encode(payloads) : await Promise.all(payloads.map(decodeOrKeep));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: result.map(toJson) }));
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}
