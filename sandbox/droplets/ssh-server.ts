import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { Server as SshServer, utils, type Connection, type ServerChannel } from 'ssh2';

export type SshMode = 'serve' | 'refuse' | 'hang';

/** What a session runs: a child process inside the droplet, or an in-process answer (light.ts). */
export interface SessionProcess {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface SshServerOptions {
  readonly ip: string;
  readonly port: number;
  /** Public keys (OpenSSH lines) allowed to log in as `username`, read at each attempt like sshd does. */
  readonly authorizedKeys: (username: string) => readonly string[];
  /** Runs a session: `command` for exec, undefined for a shell. */
  readonly runSession: (username: string, command: string | undefined) => SessionProcess;
}

function keyBlob(line: string): Buffer | undefined {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) return undefined;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key?.getPublicSSH();
}

/**
 * A droplet's sshd: a TCP front door on `<ip>:<port>` that hands connections to an ssh2 server (publickey only),
 * refuses them (listener closed) or swallows them (accepted, never answered) depending on the fault mode.
 */
export class DropletSshServer {
  private listener: NetServer | undefined;
  private ssh: SshServer;
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Set<Connection>();
  private mode: SshMode = 'serve';

  constructor(
    private readonly options: SshServerOptions,
    hostKeys: readonly string[],
  ) {
    this.ssh = this.makeServer(hostKeys);
  }

  /** Installs other host keys (the droplet's keys were replaced, or a fault impersonates it). */
  setHostKeys(hostKeys: readonly string[]): void {
    this.ssh = this.makeServer(hostKeys);
  }

  async start(): Promise<void> {
    if (this.listener || this.mode === 'refuse') return;
    const listener = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      if (this.mode === 'hang') return;
      this.ssh.injectSocket(socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: this.options.ip, port: this.options.port, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.listener = listener;
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const c of this.connections) c.end();
    for (const s of this.sockets) s.destroy();
    this.connections.clear();
    this.sockets.clear();
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /**
   * The network drops every open connection (TCP gone, no SSH goodbye): the client sees its session fail, and the
   * commands it ran carry on as under OpenSSH (see attach). Returns how many connections were dropped.
   */
  dropConnections(): number {
    const sockets = [...this.sockets];
    for (const s of sockets) s.destroy();
    return sockets.length;
  }

  async setMode(mode: SshMode): Promise<void> {
    this.mode = mode;
    if (mode === 'refuse') await this.stop();
    else await this.start();
  }

  private makeServer(hostKeys: readonly string[]): SshServer {
    // The identification string of the image's sshd (Ubuntu 24.04's OpenSSH).
    return new SshServer({ hostKeys: [...hostKeys], ident: 'OpenSSH_9.6p1 Ubuntu-3ubuntu13.14' }, (client) => {
      this.connections.add(client);
      let username = 'root';
      client.on('close', () => this.connections.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
        const allowed = this.options
          .authorizedKeys(ctx.username)
          .some((line) => keyBlob(line)?.equals(ctx.key.data) === true);
        if (!allowed) return ctx.reject(['publickey']);
        username = ctx.username;
        if (!ctx.signature || !ctx.blob) return ctx.accept();
        const parsed = utils.parseKey(ctx.key.data);
        const key = Array.isArray(parsed) ? parsed[0] : parsed;
        if (!key || key instanceof Error || key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          return ctx.reject(['publickey']);
        }
        return ctx.accept();
      });
      client.on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('env', (accept) => accept?.());
          session.on('pty', (accept) => accept?.());
          session.on('window-change', (accept) => accept?.());
          session.on('subsystem', (_accept, reject) => reject?.());
          session.on('exec', (accept, _reject, info) => this.attach(accept(), info.command, username));
          session.on('shell', (accept) => this.attach(accept(), undefined, username));
        });
      });
    });
  }

  private attach(channel: ServerChannel, command: string | undefined, username: string): void {
    const child = this.options.runSession(username, command);
    channel.on('data', (chunk: Buffer) => {
      if (child.stdin?.writable) child.stdin.write(chunk);
    });
    channel.on('end', () => child.stdin?.end());
    // As OpenSSH does for a command without a pty: no signal, its pipes are closed. It reads EOF, and dies of SIGPIPE
    // only if it writes again; anything that needs to outlive the session has to stop writing to it.
    channel.on('close', () => {
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
    child.stdin?.on('error', () => undefined);
    child.stdout?.on('data', (chunk: Buffer) => channel.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
    child.on('close', (code, signal) => {
      try {
        if (code !== null) channel.exit(code);
        else channel.exit(signal ?? 'KILL', false, '');
        channel.end();
      } catch {
        // The client went away first.
      }
    });
    child.on('error', () => {
      try {
        channel.exit(127);
        channel.end();
      } catch {
        // The client went away first.
      }
    });
  }
}
