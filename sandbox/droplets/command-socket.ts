import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

/** One invocation of a stand-in command, as the stand-in client sends it over the droplet's unix socket. */
export interface CommandRequest {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Where a handler writes; frames are flushed to the client as they come, so `--wait` style commands stream. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the client went away (e.g. the SSH session was killed). */
  readonly gone: Promise<void>;
}

export type CommandHandler = (request: CommandRequest, io: CommandIo) => Promise<number>;

export interface CommandSocket {
  close(): Promise<void>;
}

function parseRequest(line: string): CommandRequest | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const { tool, argv, cwd, env } = value as Record<string, unknown>;
    if (typeof tool !== 'string' || !Array.isArray(argv) || typeof cwd !== 'string') return undefined;
    const strings = argv.filter((a): a is string => typeof a === 'string');
    const envOut: Record<string, string> = {};
    if (typeof env === 'object' && env !== null) {
      for (const [k, v] of Object.entries(env)) if (typeof v === 'string') envOut[k] = v;
    }
    return { tool, argv: strings, cwd, env: envOut };
  } catch {
    return undefined;
  }
}

/**
 * Serves stand-in commands on a unix socket. Protocol: the client sends one JSON line (CommandRequest); the server
 * answers with JSON lines `{"o": base64}` (stdout), `{"e": base64}` (stderr) and finally `{"x": exitCode}`.
 */
export function serveCommands(socketPath: string, handler: CommandHandler): Promise<CommandSocket> {
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    let started = false;
    let resolveGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (resolveGone = resolve));
    socket.on('close', () => {
      sockets.delete(socket);
      resolveGone();
    });
    socket.on('error', () => undefined);
    const send = (frame: object) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(frame)}\n`);
    };
    socket.on('data', (chunk) => {
      if (started) return;
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      started = true;
      const request = parseRequest(buffered.slice(0, newline));
      if (!request) {
        send({ e: Buffer.from('malformed stand-in request\n').toString('base64') });
        send({ x: 2 });
        socket.end();
        return;
      }
      const io: CommandIo = {
        out: (text) => text && send({ o: Buffer.from(text).toString('base64') }),
        err: (text) => text && send({ e: Buffer.from(text).toString('base64') }),
        gone,
      };
      handler(request, io).then(
        (code) => {
          send({ x: code });
          socket.end();
        },
        (err: unknown) => {
          io.err(`${err instanceof Error ? err.message : String(err)}\n`);
          send({ x: 1 });
          socket.end();
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => {
              rmSync(socketPath, { force: true });
              done();
            });
          }),
      });
    });
  });
}
