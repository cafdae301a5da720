// The only file that uses node-ssh: everything else talks to DropletConnection.
import { createHash } from 'node:crypto';
import { NodeSSH } from 'node-ssh';
import { utils } from 'ssh2';
import { meterExternalCall } from '../call-meter';
import { HostKeyMismatchError, SshAuthError, SshInputError, SshUnavailableError } from './errors';

export interface ConnectDropletOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** OpenSSH private key of the controller. A secret: it never appears in an error. */
  readonly privateKey: string;
  /** The droplet's host public key, one OpenSSH line ("ssh-ed25519 AAAA… comment"). Any other key is refused. */
  readonly pinnedHostKey: string;
  /** Connect and handshake timeout. */
  readonly timeoutMs: number;
}

export interface RunOptions {
  /** Written to the command's stdin, then stdin is closed. */
  readonly stdin?: string;
  /** Gives up (and closes the connection) if the command has not finished by then. */
  readonly timeoutMs?: number;
  /** Called with each complete line the command writes to stderr, as it writes it (the agent's progress). */
  readonly onStderrLine?: (line: string) => void;
}

export interface RunResult {
  /** Exit status; 255 when the command died of a signal or the status was lost (as OpenSSH reports it). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DropletConnection {
  run(command: string, options?: RunOptions): Promise<RunResult>;
  dispose(): void;
}

function keyBlob(line: string): Buffer {
  const parsed = /^(ssh-|ecdsa-)/.test(line.trim()) ? utils.parseKey(line.trim()) : undefined;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey()) {
    throw new SshInputError('pinnedHostKey must be one OpenSSH public key line ("ssh-ed25519 AAAA… comment")');
  }
  return key.getPublicSSH();
}

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EADDRNOTAVAIL']);

function describe(err: unknown): { message: string; code: string | undefined; level: string | undefined } {
  if (!(err instanceof Error)) return { message: String(err), code: undefined, level: undefined };
  const extra = err as Error & { code?: unknown; level?: unknown };
  return {
    message: err.message,
    code: typeof extra.code === 'string' ? extra.code : undefined,
    level: typeof extra.level === 'string' ? extra.level : undefined,
  };
}

/**
 * Opens an SSH connection to a droplet, verifying its host key against the pinned one before authenticating, so
 * a wrong host never receives a command or a secret.
 */
export async function connectDroplet(options: ConnectDropletOptions): Promise<DropletConnection> {
  const pinned = keyBlob(options.pinnedHostKey);
  const where = `${options.host}:${options.port}`;
  let presented: Buffer | undefined;
  const ssh = new NodeSSH();
  try {
    await meterExternalCall('ssh', () => ssh.connect({
      host: options.host,
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      readyTimeout: options.timeoutMs,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = key;
        return key.equals(pinned);
      },
    }));
  } catch (err) {
    ssh.dispose();
    if (presented && !presented.equals(pinned)) {
      throw new HostKeyMismatchError(where, fingerprint(pinned), fingerprint(presented));
    }
    const { message, code, level } = describe(err);
    if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
      throw new SshAuthError(`SSH to ${where} as ${options.username}: the droplet refused our key`);
    }
    if ((code && UNAVAILABLE_CODES.has(code)) || level === 'client-timeout' || level === 'client-socket' || /timed out/i.test(message)) {
      throw new SshUnavailableError(`SSH to ${where} failed: ${code ?? message}`, code ?? 'ETIMEDOUT');
    }
    throw new SshUnavailableError(`SSH to ${where} failed: ${message}`, code);
  }

  return {
    async run(command, runOptions = {}) {
      let timer: NodeJS.Timeout | undefined;
      const timeout =
        runOptions.timeoutMs === undefined
          ? undefined
          : new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                ssh.dispose();
                reject(new SshUnavailableError(`SSH command on ${where} timed out after ${runOptions.timeoutMs} ms`, 'ETIMEDOUT'));
              }, runOptions.timeoutMs);
            });
      let partial = '';
      const onLine = runOptions.onStderrLine;
      try {
        const exec = ssh.execCommand(command, {
          noTrim: true,
          ...(runOptions.stdin === undefined ? {} : { stdin: runOptions.stdin }),
          ...(onLine
            ? {
                onStderr: (chunk: Buffer) => {
                  const lines = (partial + chunk.toString('utf8')).split('\n');
                  partial = lines.pop() ?? '';
                  for (const line of lines) onLine(line);
                },
              }
            : {}),
        });
        const result = await meterExternalCall('ssh', () => (timeout ? Promise.race([exec, timeout]) : exec), { counted: false });
        return { code: result.code ?? 255, stdout: result.stdout, stderr: result.stderr };
      } catch (err) {
        if (err instanceof SshUnavailableError) throw err;
        const { message, code } = describe(err);
        throw new SshUnavailableError(`SSH session on ${where} failed: ${message}`, code);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
    dispose() {
      ssh.dispose();
    },
  };
}
