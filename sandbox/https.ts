import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { SandboxTls } from './tls';

export interface HttpsOnlyServer {
  /** `https://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  readonly port: number;
  readonly server: HttpsServer;
  /** Stops listening and ends every connection, finished or not. */
  close(): Promise<void>;
}

// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE = 0x16;

/**
 * An HTTPS server that answers a plain-HTTP request on its port with a 400 naming the https:// address, as the real
 * APIs' front ends do, and never serves it: a client that would send a bearer token in the clear gets nothing.
 */
export async function listenHttpsOnly(
  tls: SandboxTls,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { readonly port?: number; readonly host?: string } = {},
): Promise<HttpsOnlyServer> {
  const server = createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  const sockets = new Set<Socket>();
  let origin = '';
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      // Back into the socket's buffer: the TLS layer reads what is buffered before it reads the wire.
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) {
        server.emit('connection', socket);
        return;
      }
      const body = JSON.stringify({ id: 'bad_request', message: `This port speaks HTTPS only: use ${origin}` });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      front.off('error', reject);
      resolve();
    });
  });
  const address = front.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `https://${host}:${address.port}`;
  return {
    origin,
    port: address.port,
    server,
    async close() {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
