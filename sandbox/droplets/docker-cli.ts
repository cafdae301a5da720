import type { CommandIo, CommandRequest } from './command-socket';
import { ComposeError, loadComposeProject, type ComposeProject, type ComposeService } from './compose';
import { imageId, normaliseImage, type Container, type ContainerConfig, type DockerDaemon } from './docker-daemon';
import { stringify as stringifyYaml } from 'yaml';
import { hasFlag, lastValue, parseFlags, renderGoTemplate, type ParsedFlags } from './flags';

const NEVER = '0001-01-01T00:00:00Z';
const IMAGE_SIZE_MB: Readonly<Record<string, number>> = { supervisor: 487.3 };

function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  return h === 1 ? 'About an hour' : `${h} hours`;
}

export function statusText(c: Container, now = Date.now()): string {
  switch (c.state) {
    case 'created':
      return 'Created';
    case 'running': {
      const health =
        c.health === 'healthy' ? ' (healthy)' : c.health === 'starting' ? ' (health: starting)' : c.health ? ' (unhealthy)' : '';
      return `Up ${humanDuration(now - (c.startedAt?.getTime() ?? now))}${health}`;
    }
    case 'restarting':
      return `Restarting (${c.exitCode}) ${humanDuration(now - (c.finishedAt?.getTime() ?? now))} ago`;
    case 'exited':
      return `Exited (${c.exitCode}) ${humanDuration(now - (c.finishedAt?.getTime() ?? now))} ago`;
  }
}

function labels(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.config.project) out['com.docker.compose.project'] = c.config.project;
  if (c.config.service) {
    out['com.docker.compose.service'] = c.config.service;
    out['com.docker.compose.container-number'] = '1';
  }
  return out;
}

export function inspectContainer(c: Container): Record<string, unknown> {
  const state: Record<string, unknown> = {
    Status: c.state,
    Running: c.state === 'running',
    Paused: false,
    Restarting: c.state === 'restarting',
    OOMKilled: false,
    Dead: false,
    Pid: c.process?.pid ?? 0,
    ExitCode: c.exitCode,
    Error: '',
    StartedAt: c.startedAt?.toISOString() ?? NEVER,
    FinishedAt: c.finishedAt?.toISOString() ?? NEVER,
  };
  if (c.config.healthcheck) state['Health'] = { Status: c.health ?? 'starting', FailingStreak: c.failingStreak, Log: c.healthLog };
  return {
    Id: c.id,
    Created: c.createdAt.toISOString(),
    Path: 'node',
    Args: [],
    State: state,
    Image: imageId(c.config.image),
    Name: `/${c.config.name}`,
    RestartCount: c.restartCount,
    HostConfig: { RestartPolicy: { Name: c.config.restart, MaximumRetryCount: 0 } },
    Config: {
      Hostname: c.id.slice(0, 12),
      Image: c.config.image,
      Env: Object.entries(c.config.env).map(([k, v]) => `${k}=${v}`),
      Labels: labels(c),
    },
    Mounts: [],
    NetworkSettings: { Networks: {} },
  };
}

/** The compose plugin the sandbox reports: v2.32.4, released the same month as its Docker 27.5.1 (January 2025). */
const COMPOSE_VERSION = '2.32.4';

/** Docker's tabwriter layout: a header row and rows, each column padded to its widest cell plus three spaces. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')}\n`;
  return [header, ...rows].map(line).join('');
}

function psRow(c: Container): Record<string, unknown> {
  const now = Date.now();
  return {
    Command: '"docker-entrypoint.s…"',
    CreatedAt: c.createdAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
    ID: c.id.slice(0, 12),
    Image: c.config.image,
    Labels: Object.entries(labels(c))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    LocalVolumes: '0',
    Mounts: '',
    Names: c.config.name,
    Networks: '',
    Ports: '',
    RunningFor: `${humanDuration(now - c.createdAt.getTime())} ago`,
    Size: '0B',
    State: c.state,
    Status: statusText(c, now),
  };
}

function composePsRow(c: Container): Record<string, unknown> {
  return {
    ...psRow(c),
    Name: c.config.name,
    Project: c.config.project ?? '',
    Service: c.config.service ?? '',
    Health: c.health ?? '',
    ExitCode: c.exitCode,
    Publishers: [],
  };
}

function logLines(c: Container, flags: ParsedFlags): Container['logs'] {
  let entries = c.logs;
  const since = lastValue(flags, '--since');
  if (since) {
    const relative = /^(\d+)([smh])$/.exec(since);
    const cutoff = relative
      ? Date.now() - Number(relative[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[relative[2] as 's' | 'm' | 'h']
      : Date.parse(since);
    if (!Number.isNaN(cutoff)) entries = entries.filter((e) => e.time.getTime() >= cutoff);
  }
  const tail = lastValue(flags, '--tail', '-n');
  if (tail !== undefined && tail !== 'all') entries = entries.slice(Math.max(0, entries.length - Number(tail)));
  return entries;
}

function writeLogs(io: CommandIo, entries: Container['logs'], prefix: string, timestamps: boolean): void {
  for (const e of entries) {
    const line = `${prefix}${timestamps ? `${e.time.toISOString()} ` : ''}${e.text}\n`;
    if (e.stream === 'stdout') io.out(line);
    else io.err(line);
  }
}

function noSuch(io: CommandIo, name: string, kind: 'object' | 'container'): number {
  io.err(kind === 'object' ? `Error: No such object: ${name}\n` : `Error response from daemon: No such container: ${name}\n`);
  return 1;
}

function imageSizeMb(ref: string): number {
  return ref.includes('/supervisor:') ? (IMAGE_SIZE_MB['supervisor'] ?? 0) : 21.4;
}

/** `docker version` of Docker Engine 27.5.1 (API 1.47), under the JSON names `{{json .}}` prints. */
const VERSION = {
  Client: { Version: '27.5.1', ApiVersion: '1.47', DefaultAPIVersion: '1.47', Os: 'linux', Arch: 'amd64', Context: 'default' },
  Server: {
    Platform: { Name: 'Docker Engine - Community' },
    Version: '27.5.1',
    ApiVersion: '1.47',
    MinAPIVersion: '1.24',
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: '6.8.0-51-generic',
  },
};

function info(daemon: DockerDaemon): Record<string, unknown> {
  const containers = [...daemon.containers.values()];
  return {
    ID: 'SANDBOX',
    Containers: containers.length,
    ContainersRunning: containers.filter((c) => c.state === 'running').length,
    ContainersPaused: 0,
    ContainersStopped: containers.filter((c) => c.state !== 'running').length,
    Images: daemon.images.size,
    Driver: 'overlay2',
    LoggingDriver: 'json-file',
    CgroupDriver: 'systemd',
    KernelVersion: '6.8.0-51-generic',
    OperatingSystem: 'Ubuntu 24.04.1 LTS',
    OSType: 'linux',
    Architecture: 'x86_64',
    NCPU: 4,
    MemTotal: 8323002368,
    DockerRootDir: '/var/lib/docker',
    Name: 'droplet',
    ServerVersion: '27.5.1',
  };
}

async function pullImage(daemon: DockerDaemon, ref: string, io: CommandIo, quiet: boolean): Promise<number> {
  const image = normaliseImage(ref);
  const result = await daemon.pull(image);
  if (!result.ok) {
    io.err(`Error response from daemon: ${result.error}\n`);
    return 1;
  }
  const tag = image.slice(image.lastIndexOf(':') + 1);
  if (!quiet) {
    io.out(`${tag}: Pulling from ${image.slice(0, image.lastIndexOf(':')).replace(/^[^/]+\.[^/]+\//, '')}\n`);
    io.out(`Digest: ${imageId(image)}\n`);
    io.out(result.fresh ? `Status: Downloaded newer image for ${image}\n` : `Status: Image is up to date for ${image}\n`);
  }
  io.out(`${image}\n`);
  return 0;
}

function prune(daemon: DockerDaemon, what: 'container' | 'image', io: CommandIo): number {
  if (what === 'container') {
    const removed = [...daemon.containers.values()].filter((c) => c.state === 'exited' || c.state === 'created');
    for (const c of removed) daemon.remove(c);
    if (removed.length > 0) io.out(`Deleted Containers:\n${removed.map((c) => `${c.id}\n`).join('')}\n`);
    io.out('Total reclaimed space: 0B\n');
    return 0;
  }
  const used = new Set([...daemon.containers.values()].map((c) => normaliseImage(c.config.image)));
  const removed = [...daemon.images.keys()].filter((ref) => !used.has(ref));
  let mb = 0;
  for (const ref of removed) {
    daemon.images.delete(ref);
    mb += imageSizeMb(ref);
  }
  if (removed.length > 0) {
    io.out(`Deleted Images:\n${removed.map((ref) => `untagged: ${ref}\ndeleted: ${imageId(ref)}\n`).join('')}\n`);
  }
  io.out(`Total reclaimed space: ${mb === 0 ? '0B' : `${mb.toFixed(1)}MB`}\n`);
  return 0;
}

/** Handles one `docker …` invocation of a droplet's docker stand-in (the subset in docs/droplet-contract.md). */
/** A `docker` invocation from inside a droplet whose disk is the host directory `root` (paths are the droplet's). */
export async function runDockerCli(daemon: DockerDaemon, request: CommandRequest, io: CommandIo, root: string): Promise<number> {
  const global = parseFlags(request.argv, ['-H', '--host', '--context', '-c', '--config', '-l', '--log-level'], true);
  const [command, ...rest] = global.positional;
  switch (command) {
    case undefined:
      io.err('Usage:  docker [OPTIONS] COMMAND\n');
      return 1;
    case 'info': {
      const flags = parseFlags(rest, ['--format', '-f']);
      const format = lastValue(flags, '--format', '-f');
      if (format) io.out(`${renderGoTemplate(format, info(daemon))}\n`);
      else io.out(`Server:\n Containers: ${daemon.containers.size}\n Server Version: 27.5.1\n`);
      return 0;
    }
    case 'version': {
      const format = lastValue(parseFlags(rest, ['--format', '-f']), '--format', '-f');
      if (format) io.out(`${renderGoTemplate(format, VERSION)}\n`);
      else io.out('Client: Docker Engine - Community\n Version: 27.5.1\n\nServer: Docker Engine - Community\n Version: 27.5.1\n');
      return 0;
    }
    case 'ps': {
      const flags = parseFlags(rest, ['--format', '--filter', '-f']);
      const all = hasFlag(flags, '-a', '--all');
      const filters = [...(flags.values.get('--filter') ?? []), ...(flags.values.get('-f') ?? [])];
      const rows = [...daemon.containers.values()].filter((c) => {
        if (!all && c.state !== 'running' && c.state !== 'restarting') return false;
        return filters.every((f) => {
          const [key, value = ''] = f.split('=', 2);
          if (key === 'name') return c.config.name.includes(value);
          if (key === 'status') return c.state === value;
          if (key === 'label') return Object.entries(labels(c)).some(([k, v]) => `${k}=${v}` === value || k === value);
          return true;
        });
      });
      const format = lastValue(flags, '--format');
      if (hasFlag(flags, '-q', '--quiet')) io.out(rows.map((c) => `${c.id.slice(0, 12)}\n`).join(''));
      else if (format === 'json') io.out(rows.map((c) => `${JSON.stringify(psRow(c))}\n`).join(''));
      else if (format) io.out(rows.map((c) => `${renderGoTemplate(format, psRow(c))}\n`).join(''));
      else {
        const table = rows.map((c) => psRow(c));
        io.out(
          columns(
            ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
            table.map((r) => [r['ID'], r['Image'], r['Command'], r['RunningFor'], r['Status'], r['Ports'], r['Names']].map(String)),
          ),
        );
      }
      return 0;
    }
    case 'inspect': {
      const flags = parseFlags(rest, ['--format', '-f', '--type']);
      const found: Record<string, unknown>[] = [];
      let code = 0;
      for (const name of flags.positional) {
        const c = daemon.find(name);
        if (c) found.push(inspectContainer(c));
        else {
          code = noSuch(io, name, 'object');
        }
      }
      const format = lastValue(flags, '--format', '-f');
      if (format) io.out(found.map((o) => `${renderGoTemplate(format, o)}\n`).join(''));
      else io.out(`${JSON.stringify(found, null, 4)}\n`);
      return code;
    }
    case 'logs': {
      const flags = parseFlags(rest, ['--tail', '-n', '--since', '--until']);
      const name = flags.positional[0] ?? '';
      const c = daemon.find(name);
      if (!c) return noSuch(io, name, 'container');
      writeLogs(io, logLines(c, flags), '', hasFlag(flags, '-t', '--timestamps'));
      return 0;
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'rm': {
      const flags = parseFlags(rest, ['-t', '--time', '--signal', '-s']);
      let code = 0;
      for (const name of flags.positional) {
        const c = daemon.find(name);
        if (!c) {
          code = noSuch(io, name, 'container');
          continue;
        }
        if (command === 'start') daemon.startContainer(c);
        else if (command === 'stop') await daemon.stopContainer(c);
        else if (command === 'restart') await daemon.restartContainer(c);
        else if (c.state === 'running' && !hasFlag(flags, '-f', '--force')) {
          io.err(`Error response from daemon: cannot remove container "/${c.config.name}": container is running: stop the container before removing or force remove\n`);
          code = 1;
          continue;
        } else daemon.remove(c);
        io.out(`${name}\n`);
      }
      return code;
    }
    case 'pull': {
      const flags = parseFlags(rest, ['--platform']);
      return pullImage(daemon, flags.positional[0] ?? '', io, hasFlag(flags, '-q', '--quiet'));
    }
    case 'images': {
      const format = lastValue(parseFlags(rest, ['--format', '--filter', '-f']), '--format');
      const rows = [...daemon.images].map(([ref, image]) => {
        const at = ref.lastIndexOf(':');
        return {
          Containers: 'N/A',
          CreatedAt: image.pulledAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
          CreatedSince: `${humanDuration(Date.now() - image.pulledAt.getTime())} ago`,
          Digest: '<none>',
          ID: image.id.slice(7, 19),
          Repository: ref.slice(0, at),
          SharedSize: 'N/A',
          Size: `${imageSizeMb(ref)}MB`,
          Tag: ref.slice(at + 1),
          UniqueSize: 'N/A',
          VirtualSize: `${imageSizeMb(ref)}MB`,
        };
      });
      if (format === 'json') io.out(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      else if (format) io.out(rows.map((r) => `${renderGoTemplate(format, r)}\n`).join(''));
      else io.out(columns(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size])));
      return 0;
    }
    case 'container':
    case 'image': {
      const [sub, ...args] = rest;
      if (sub === 'prune') {
        const flags = parseFlags(args, ['--filter']);
        if (!hasFlag(flags, '-f', '--force')) {
          io.err('WARNING! This will remove stopped containers. Refusing without -f (no terminal).\n');
          return 1;
        }
        return prune(daemon, command, io);
      }
      if (command === 'container' && sub === 'inspect') return runDockerCli(daemon, { ...request, argv: ['inspect', ...args] }, io, root);
      break;
    }
    case 'compose':
      return runCompose(daemon, rest, request, io, root);
  }
  io.err(`docker: '${request.argv.join(' ')}' is not part of the sandbox droplet contract (docs/droplet-contract.md)\n`);
  return 1;
}

function projectContainers(daemon: DockerDaemon, project: string, services?: readonly string[]): Container[] {
  return [...daemon.containers.values()].filter(
    (c) => c.config.project === project && (!services || services.length === 0 || services.includes(c.config.service ?? '')),
  );
}

function containerConfig(project: ComposeProject, service: ComposeService): ContainerConfig {
  return {
    name: `${project.name}-${service.name}-1`,
    image: service.image,
    env: service.environment,
    restart: service.restart,
    healthcheck: service.healthcheck,
    project: project.name,
    service: service.name,
    recorded: service.recorded,
  };
}

function selected(project: ComposeProject, names: readonly string[]): ComposeService[] {
  if (names.length === 0) return [...project.services];
  const wanted = new Set<string>();
  const add = (name: string) => {
    const s = project.services.find((x) => x.name === name);
    if (!s) throw new ComposeError(`no such service: ${name}`);
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of s.dependsOn) add(dep);
  };
  for (const n of names) add(n);
  return project.services.filter((s) => wanted.has(s.name));
}

/** Pulls the services' images in parallel, as compose does; the first error, if any. */
async function pullServices(
  daemon: DockerDaemon,
  services: readonly ComposeService[],
  line: (kind: string, name: string, state: string) => void,
): Promise<string | undefined> {
  for (const s of services) line('', s.name, 'Pulling');
  const results = await Promise.all(
    services.map(async (s) => {
      const result = await daemon.pull(s.image);
      line('', s.name, result.ok ? 'Pulled' : `Error ${result.error}`);
      return result;
    }),
  );
  for (const r of results) if (!r.ok) return r.error;
  return undefined;
}

async function runCompose(daemon: DockerDaemon, argv: readonly string[], request: CommandRequest, io: CommandIo, root: string): Promise<number> {
  const global = parseFlags(
    argv,
    ['--project-directory', '-f', '--file', '--env-file', '-p', '--project-name', '--ansi', '--progress', '--profile'],
    true,
  );
  const [sub, ...rest] = global.positional;
  if (sub === 'version') {
    // The compose plugin Docker 27.5.1's packages ship with; needs no project.
    const flags = parseFlags(rest, ['--format', '-f']);
    const format = lastValue(flags, '--format', '-f');
    if (hasFlag(flags, '--short')) io.out(`${COMPOSE_VERSION}\n`);
    else if (format === 'json') io.out(`${JSON.stringify({ version: `v${COMPOSE_VERSION}` })}\n`);
    else io.out(`Docker Compose version v${COMPOSE_VERSION}\n`);
    return 0;
  }
  let project: ComposeProject;
  try {
    project = loadComposeProject({
      root,
      cwd: request.cwd,
      projectDirectory: lastValue(global, '--project-directory'),
      files: [...(global.values.get('-f') ?? []), ...(global.values.get('--file') ?? [])],
      envFiles: global.values.get('--env-file') ?? [],
      projectName: lastValue(global, '-p', '--project-name'),
      shellEnv: request.env,
    });
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const line = (kind: string, name: string, state: string) => io.err(` ${kind} ${name}  ${state}\n`);
  try {
    switch (sub) {
      case 'pull': {
        const flags = parseFlags(rest, ['--policy']);
        const failed = await pullServices(daemon, selected(project, flags.positional), line);
        if (failed) {
          io.err(`Error response from daemon: ${failed}\n`);
          return 1;
        }
        return 0;
      }
      case 'up': {
        const flags = parseFlags(rest, ['--pull', '--wait-timeout', '-t', '--timeout', '--scale']);
        if (!hasFlag(flags, '-d', '--detach')) {
          io.err('sandbox droplet: only `docker compose up -d` is supported (see docs/droplet-contract.md)\n');
          return 1;
        }
        const services = selected(project, flags.positional);
        const missing = services.filter((s) => !daemon.images.has(normaliseImage(s.image)) || lastValue(flags, '--pull') === 'always');
        const failed = await pullServices(daemon, missing, line);
        if (failed) {
          io.err(`Error response from daemon: ${failed}\n`);
          return 1;
        }
        if (hasFlag(flags, '--remove-orphans')) {
          const known = new Set(project.services.map((s) => s.name));
          for (const c of projectContainers(daemon, project.name).filter((x) => !known.has(x.config.service ?? ''))) {
            line('Container', c.config.name, 'Stopping');
            daemon.remove(c);
            line('Container', c.config.name, 'Removed');
          }
        }
        for (const s of services) {
          const config = containerConfig(project, s);
          let c = daemon.containers.get(config.name);
          const same = c !== undefined && c.configHash === daemon.hashOf(config);
          if (c && same && !hasFlag(flags, '--force-recreate')) {
            if (c.state === 'running' || c.state === 'restarting') {
              line('Container', config.name, 'Running');
              continue;
            }
          } else {
            if (c) {
              line('Container', config.name, 'Recreate');
              await daemon.stopContainer(c);
              daemon.remove(c);
              line('Container', config.name, 'Recreated');
            } else line('Container', config.name, 'Creating');
            c = daemon.create(config);
            line('Container', config.name, 'Created');
          }
          line('Container', config.name, 'Starting');
          daemon.startContainer(c);
          line('Container', config.name, 'Started');
        }
        return 0;
      }
      case 'ps': {
        const flags = parseFlags(rest, ['--format', '--filter', '--status']);
        const all = hasFlag(flags, '-a', '--all');
        const rows = projectContainers(daemon, project.name, flags.positional).filter(
          (c) => all || c.state === 'running' || c.state === 'restarting',
        );
        const format = lastValue(flags, '--format');
        if (hasFlag(flags, '-q', '--quiet')) io.out(rows.map((c) => `${c.id}\n`).join(''));
        else if (format === 'json') io.out(rows.map((c) => `${JSON.stringify(composePsRow(c))}\n`).join(''));
        else {
          io.out('NAME   IMAGE   SERVICE   STATUS\n');
          io.out(rows.map((c) => `${c.config.name}   ${c.config.image}   ${c.config.service ?? ''}   ${statusText(c)}\n`).join(''));
        }
        return 0;
      }
      case 'restart':
      case 'stop':
      case 'start': {
        const flags = parseFlags(rest, ['-t', '--timeout']);
        for (const c of projectContainers(daemon, project.name, flags.positional)) {
          const verb = sub === 'restart' ? 'Restart' : sub === 'stop' ? 'Stop' : 'Start';
          line('Container', c.config.name, `${verb}ing`);
          if (sub === 'restart') await daemon.restartContainer(c);
          else if (sub === 'stop') await daemon.stopContainer(c);
          else daemon.startContainer(c);
          line('Container', c.config.name, sub === 'stop' ? 'Stopped' : `${verb}ed`);
        }
        return 0;
      }
      case 'down': {
        for (const c of projectContainers(daemon, project.name)) {
          line('Container', c.config.name, 'Stopping');
          await daemon.stopContainer(c);
          line('Container', c.config.name, 'Stopped');
          daemon.remove(c);
          line('Container', c.config.name, 'Removed');
        }
        line('Network', `${project.name}_default`, 'Removed');
        return 0;
      }
      case 'logs': {
        const flags = parseFlags(rest, ['--tail', '-n', '--since', '--until']);
        const prefix = !hasFlag(flags, '--no-log-prefix');
        for (const c of projectContainers(daemon, project.name, flags.positional)) {
          writeLogs(io, logLines(c, flags), prefix ? `${c.config.service ?? c.config.name}-1  | ` : '', hasFlag(flags, '-t', '--timestamps'));
        }
        return 0;
      }
      case 'config': {
        // As compose prints it: the resolved model, services as a map by name, YAML unless --format json.
        const model = {
          name: project.name,
          services: Object.fromEntries(
            project.services.map((svc) => [
              svc.name,
              {
                ...svc.recorded,
                ...(svc.dependsOn.length > 0 ? { depends_on: Object.fromEntries(svc.dependsOn.map((d) => [d, { condition: 'service_started', required: true }])) } : {}),
                environment: svc.environment,
                image: svc.image,
                restart: svc.restart,
              },
            ]),
          ),
        };
        const format = lastValue(parseFlags(rest, ['--format']), '--format');
        io.out(format === 'json' ? `${JSON.stringify(model, null, 4)}\n` : stringifyYaml(model, { sortMapEntries: true }));
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof ComposeError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.err(`docker compose ${sub ?? ''}: not part of the sandbox droplet contract (docs/droplet-contract.md)\n`);
  return 1;
}
