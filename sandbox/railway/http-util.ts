import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Reads a request body (up to `limit` bytes) as text. */
export async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Listens on host:port (0 = ephemeral) and resolves the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('server has no address'));
    });
  });
}

/**
 * Lifecycle of a stand-in's HTTP server: tracks sockets so close() does not wait for keep-alive or hanging
 * requests, and gives handlers sleeps that end when the server closes.
 */
export function createServerLifecycle(server: Server) {
  const sockets = new Set<Socket>();
  const aborter = new AbortController();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    signal: aborter.signal,
    /** Resolves after `ms`, or rejects once the server is closing. */
    wait: (ms: number) => sleep(ms, undefined, { signal: aborter.signal }),
    close: () =>
      new Promise<void>((resolve) => {
        aborter.abort();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
