import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { loadSandbox, type Sandbox } from '../controller/sandbox';
import { parseTimingProfile, TIMING_PROFILES, type TimingProfile } from '../shared/timing-profiles';
import { CliError, cliConfig } from './context';
import { untilInterrupted } from '../controller/signals';

interface SandboxFile {
  readonly pid: number;
  readonly env: Record<string, string>;
}

/** Where a running `sandbox up` leaves its address book, so that `sandbox down` and other shells can find it. */
function sandboxFile(dataDir: string): string {
  return join(dataDir, 'sandbox.json');
}

export function registerSandbox(program: Command): void {
  const sandbox = program.command('sandbox').description('the local stand-ins for DigitalOcean, Railway, the webapp and droplets');

  sandbox
    .command('up')
    .description('start the sandbox and run until interrupted; prints the endpoints and the tokens it accepts')
    .option('--json', 'print the endpoints as JSON (one line)')
    .option('--digitalocean-port <port>', 'fixed port of the DigitalOcean API (default: a free one)')
    .option('--railway-port <port>', 'fixed port of the Railway API')
    .option('--webapp-port <port>', 'fixed port of the Trigger.dev webapp')
    .option('--ssh-port <port>', 'SSH port of every droplet (on its own 127.0.0.N)')
    .option('--timings <profile>', `how long things take: ${TIMING_PROFILES.join(', ')} (real-world durations, see docs/sandbox-timings.md)`, 'default')
    .action(async (opts: { json?: boolean; digitaloceanPort?: string; railwayPort?: string; webappPort?: string; sshPort?: string; timings: string }) => {
      const timings = timingsFlag(opts.timings);
      const config = cliConfig();
      const file = sandboxFile(config.dataDir);
      if (existsSync(file) && isAlive((JSON.parse(readFileSync(file, 'utf8')) as SandboxFile).pid)) {
        throw new CliError(`A sandbox is already running (see ${file}); stop it with: trigger-ops sandbox down`, 4);
      }
      const port = (value: string | undefined, flag: string): number | undefined => {
        if (value === undefined) return undefined;
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliError(`--${flag} must be a port number (1-65535), got "${value}"`, 2);
        return n;
      };
      const ports = {
        ...(opts.digitaloceanPort !== undefined ? { digitalocean: port(opts.digitaloceanPort, 'digitalocean-port') } : {}),
        ...(opts.railwayPort !== undefined ? { railway: port(opts.railwayPort, 'railway-port') } : {}),
        ...(opts.webappPort !== undefined ? { webapp: port(opts.webappPort, 'webapp-port') } : {}),
      } as { digitalocean?: number; railway?: number; webapp?: number };
      const sshPort = port(opts.sshPort, 'ssh-port');
      const running = await loadSandbox().startSandbox({
        ports,
        timings,
        tlsDir: join(config.dataDir, 'sandbox-tls'),
        ...(sshPort !== undefined ? { sshPort } : {}),
      });
      mkdirSync(config.dataDir, { recursive: true });
      writeFileSync(file, JSON.stringify({ pid: process.pid, env: running.env } satisfies SandboxFile, null, 2), { mode: 0o600 });
      process.stdout.write(opts.json ? `${JSON.stringify(describe(running))}\n` : human(running, file));
      await untilInterrupted();
      await running.close();
      rmSync(file, { force: true });
      process.stderr.write('sandbox stopped\n');
    });

  sandbox
    .command('down')
    .description('stop the sandbox started by `sandbox up`')
    .action(async () => {
      const file = sandboxFile(cliConfig().dataDir);
      if (!existsSync(file)) throw new CliError('No sandbox is running (nothing to stop).', 4);
      const { pid } = JSON.parse(readFileSync(file, 'utf8')) as SandboxFile;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
      if (isAlive(pid)) throw new CliError(`The sandbox (pid ${pid}) did not stop within 10 s.`, 1);
      rmSync(file, { force: true });
      process.stderr.write('sandbox stopped\n');
    });
}

function timingsFlag(value: string): TimingProfile {
  try {
    return parseTimingProfile(value, '--timings');
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
}

function describe(s: Sandbox) {
  return {
    digitalocean: { url: s.digitalocean.url, token: s.digitalocean.token, caPath: s.digitalocean.caPath },
    railway: {
      url: s.railway.url,
      accountToken: s.railway.accountToken,
      projectToken: s.railway.projectToken,
      projectId: s.railway.projectId,
      environmentId: s.railway.environmentId,
    },
    webapp: { url: s.webapp.url, adminToken: s.webapp.adminToken },
    resend: { url: s.resend.url, apiKey: s.resend.apiKey },
    ses: { url: s.ses.url, accessKeyId: s.ses.accessKeyId, secretAccessKey: s.ses.secretAccessKey },
    droplets: { sshPort: Number(s.env['DROPLET_SSH_PORT']) },
    timings: s.timings.profile,
    env: s.env,
  };
}

function human(s: Sandbox, file: string): string {
  const env = Object.entries(s.env).map(([k, v]) => `  export ${k}=${v}`);
  return [
    'Sandbox running (Ctrl-C or `trigger-ops sandbox down` stops it):',
    `  DigitalOcean API  ${s.digitalocean.url}/v2   token ${s.digitalocean.token}   CA ${s.digitalocean.caPath ?? '(in memory)'}`,
    `  Railway GraphQL   ${s.railway.url}   account token ${s.railway.accountToken}`,
    `  Trigger.dev       ${s.webapp.url}   admin PAT ${s.webapp.adminToken}`,
    `  Resend API        ${s.resend.url}   key ${s.resend.apiKey} (for trigger-ops email set resend)`,
    `  Amazon SES v2     ${s.ses.url}   key ${s.ses.accessKeyId} / ${s.ses.secretAccessKey} (any region)`,
    `  Droplets          127.0.0.N, SSH port ${s.env['DROPLET_SSH_PORT']}`,
    `  Timings           ${s.timings.profile}${s.timings.profile === 'realistic' ? ' (a deploy takes minutes, as for real)' : ''}`,
    '',
    'Point trigger-ops (or any client) at it (TRIGGER_OPS_CA_CERTS is the CA other clients trust too, e.g. curl --cacert):',
    ...env,
    `(also written to ${file})`,
    '',
  ].join('\n');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
