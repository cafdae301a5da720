import type { CloudInitRecord } from './cloud-init';
import type { CommandIo, CommandRequest } from './command-socket';
import { hasFlag, parseFlags } from './flags';

/** What the host stand-ins need from their droplet. */
export interface HostContext {
  readonly cloudInit: () => CloudInitRecord;
  /** Resolves when cloud-init has finished (done or error). */
  readonly cloudInitFinished: () => Promise<void>;
  readonly docker: { readonly running: () => boolean; start(): Promise<void>; stop(): Promise<void> };
  readonly diskFull: () => boolean;
}

/** Host state the stand-ins keep per droplet (firewall rules, sysctls): recorded, never applied to the machine. */
export interface HostState {
  readonly iptables: string[];
  ufw: { active: boolean; readonly rules: string[] };
  readonly sysctl: Map<string, string>;
  readonly enabledUnits: Set<string>;
}

export function newHostState(): HostState {
  return { iptables: [], ufw: { active: false, rules: [] }, sysctl: new Map(), enabledUnits: new Set(['ssh']) };
}

const DISK_KB = 50_620_216;

function cloudInitStatus(record: CloudInitRecord, io: CommandIo, json: boolean, long: boolean): number {
  const errors = record.status === 'error' ? record.errors : [];
  if (json) {
    io.out(
      `${JSON.stringify(
        {
          boot_status_code: 'enabled-by-generator',
          datasource: 'digitalocean',
          detail: record.status === 'running' ? 'Running in stage: modules-final' : 'DataSourceDigitalOcean',
          errors,
          extended_status: record.status,
          last_update: record.finishedAt ?? record.startedAt,
          recoverable_errors: {},
          status: record.status,
        },
        null,
        1,
      )}\n`,
    );
  } else {
    io.out(`status: ${record.status}\n`);
    if (long) {
      io.out(`extended_status: ${record.status}\nboot_status_code: enabled-by-generator\n`);
      if (errors.length > 0) io.out(`errors:\n${errors.map((e) => `\t- ${e}\n`).join('')}`);
    }
  }
  return record.status === 'error' ? 1 : 0;
}

async function cloudInit(ctx: HostContext, argv: readonly string[], io: CommandIo): Promise<number> {
  const flags = parseFlags(argv, ['--format']);
  if (flags.positional[0] !== 'status') {
    io.err(`cloud-init ${argv.join(' ')}: not part of the sandbox droplet contract\n`);
    return 1;
  }
  const json = flags.values.get('--format')?.includes('json') === true;
  if (hasFlag(flags, '--wait', '-w') && ctx.cloudInit().status === 'running') {
    if (!json) io.out('.');
    await Promise.race([ctx.cloudInitFinished(), io.gone]);
    if (!json) io.out('\n');
  }
  return cloudInitStatus(ctx.cloudInit(), io, json, hasFlag(flags, '--long', '-l'));
}

async function systemctl(ctx: HostContext, state: HostState, argv: readonly string[], io: CommandIo): Promise<number> {
  const flags = parseFlags(argv, []);
  const [verb, ...units] = flags.positional;
  const docker = units.some((u) => u === 'docker' || u === 'docker.service');
  switch (verb) {
    case 'is-active': {
      const active = units.map((u) => (u.startsWith('docker') ? ctx.docker.running() : state.enabledUnits.has(u.replace(/\.service$/, ''))));
      io.out(active.map((a) => (a ? 'active\n' : 'inactive\n')).join(''));
      return active.every(Boolean) ? 0 : 3;
    }
    case 'is-enabled':
      return units.every((u) => state.enabledUnits.has(u.replace(/\.service$/, '')) || u.startsWith('docker')) ? 0 : 1;
    case 'start':
    case 'restart':
    case 'reload':
    case 'enable':
      for (const u of units) state.enabledUnits.add(u.replace(/\.service$/, ''));
      if (docker && verb === 'restart') await ctx.docker.stop();
      if (docker && (verb !== 'enable' || hasFlag(flags, '--now'))) await ctx.docker.start();
      return 0;
    case 'stop':
    case 'disable':
      if (docker && (verb === 'stop' || hasFlag(flags, '--now'))) await ctx.docker.stop();
      return 0;
    case 'daemon-reload':
      return 0;
    case 'status':
      io.out(units.map((u) => `● ${u}\n     Active: ${u.startsWith('docker') && !ctx.docker.running() ? 'inactive (dead)' : 'active (running)'}\n`).join(''));
      return docker && !ctx.docker.running() ? 3 : 0;
  }
  io.err(`systemctl ${argv.join(' ')}: not part of the sandbox droplet contract\n`);
  return 1;
}

function iptables(state: HostState, argv: readonly string[], io: CommandIo): number {
  const args = [...argv];
  const tableAt = args.findIndex((a) => a === '-t' || a === '--table');
  const table = tableAt >= 0 ? (args.splice(tableAt, 2)[1] ?? 'filter') : 'filter';
  const opAt = args.findIndex((a) => /^(-[ACDILS]|--(append|check|delete|insert|list|list-rules))$/.test(a));
  if (opAt < 0) return 0;
  const op = args[opAt] ?? '';
  const chain = args[opAt + 1] ?? '';
  let spec = args.filter((_, i) => i !== opAt && i !== opAt + 1);
  if ((op === '-I' || op === '--insert') && /^\d+$/.test(spec[0] ?? '')) spec = spec.slice(1);
  const rule = `-t ${table} -A ${chain} ${spec.join(' ')}`.trim();
  const at = state.iptables.indexOf(rule);
  switch (op) {
    case '-A':
    case '--append':
      state.iptables.push(rule);
      return 0;
    case '-I':
    case '--insert':
      state.iptables.unshift(rule);
      return 0;
    case '-C':
    case '--check':
      if (at >= 0) return 0;
      io.err('iptables: Bad rule (does a matching rule exist in that chain?).\n');
      return 1;
    case '-D':
    case '--delete':
      if (at < 0) {
        io.err('iptables: Bad rule (does a matching rule exist in that chain?).\n');
        return 1;
      }
      state.iptables.splice(at, 1);
      return 0;
    default:
      io.out(state.iptables.filter((r) => r.startsWith(`-t ${table} `)).map((r) => `${r.replace(/^-t \S+ /, '')}\n`).join(''));
      return 0;
  }
}

function ufw(state: HostState, argv: readonly string[], io: CommandIo): number {
  const args = argv.filter((a) => a !== '--force');
  const [verb] = args;
  if (verb === 'status') {
    io.out(state.ufw.active ? `Status: active\n\n${state.ufw.rules.map((r) => `${r}\n`).join('')}` : 'Status: inactive\n');
  } else if (verb === 'enable') {
    state.ufw.active = true;
    io.out('Firewall is active and enabled on system startup\n');
  } else if (verb === 'disable') {
    state.ufw.active = false;
    io.out('Firewall stopped and disabled on system startup\n');
  } else if (verb === 'allow' || verb === 'deny' || verb === 'limit' || verb === 'reject') {
    state.ufw.rules.push(args.join(' '));
    io.out('Rules updated\n');
  } else if (verb === 'default') {
    io.out(`Default ${args[2] ?? 'incoming'} policy changed to '${args[1] ?? 'deny'}'\n`);
  }
  return 0;
}

function sysctl(state: HostState, argv: readonly string[], io: CommandIo): number {
  const flags = parseFlags(argv, ['-p']);
  if (hasFlag(flags, '--system') || flags.values.has('-p') || hasFlag(flags, '-p')) {
    io.out('* Applying /etc/sysctl.d/*.conf ...\n');
    return 0;
  }
  for (const arg of flags.positional) {
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      const [key, value] = [arg.slice(0, eq).trim(), arg.slice(eq + 1).trim()];
      state.sysctl.set(key, value);
      if (!hasFlag(flags, '-q')) io.out(`${key} = ${value}\n`);
    } else {
      io.out(hasFlag(flags, '-n') ? `${state.sysctl.get(arg) ?? '0'}\n` : `${arg} = ${state.sysctl.get(arg) ?? '0'}\n`);
    }
  }
  return 0;
}

function df(ctx: HostContext, argv: readonly string[], io: CommandIo): number {
  const flags = parseFlags(argv, ['--output', '-t', '-x']);
  const used = ctx.diskFull() ? DISK_KB - 2048 : Math.round(DISK_KB * 0.18);
  const avail = DISK_KB - used;
  const pct = `${Math.ceil((used / DISK_KB) * 100)}%`;
  const human = hasFlag(flags, '-h', '--human-readable');
  const size = (kb: number) => (human ? `${(kb / 1024 / 1024).toFixed(1)}G` : String(kb));
  const header = human
    ? 'Filesystem      Size  Used Avail Use% Mounted on\n'
    : 'Filesystem     1024-blocks     Used Available Capacity Mounted on\n';
  io.out(header);
  for (let i = 0; i < Math.max(1, flags.positional.length); i++) {
    io.out(`/dev/vda1      ${size(DISK_KB)} ${size(used)} ${size(avail)} ${pct} /\n`);
  }
  return 0;
}

function aptGet(argv: readonly string[], io: CommandIo): number {
  const [verb, ...rest] = argv.filter((a) => !a.startsWith('-'));
  if (verb === 'update') io.out('Reading package lists... Done\n');
  else if (verb === 'install' || verb === 'upgrade') {
    io.out(`Reading package lists... Done\nBuilding dependency tree... Done\n${rest.length > 0 ? `Setting up ${rest.join(', ')} ...\n` : ''}`);
  }
  return 0;
}

/** Answers the host stand-ins of one droplet. Nothing here touches the real machine. */
export async function runHostCommand(
  ctx: HostContext,
  state: HostState,
  request: CommandRequest,
  io: CommandIo,
): Promise<number> {
  switch (request.tool) {
    case 'cloud-init':
      return cloudInit(ctx, request.argv, io);
    case 'systemctl':
      return systemctl(ctx, state, request.argv, io);
    case 'iptables':
      return iptables(state, request.argv, io);
    case 'ufw':
      return ufw(state, request.argv, io);
    case 'sysctl':
      return sysctl(state, request.argv, io);
    case 'df':
      return df(ctx, request.argv, io);
    case 'apt-get':
      return aptGet(request.argv, io);
  }
  io.err(`${request.tool}: not a sandbox stand-in\n`);
  return 127;
}
