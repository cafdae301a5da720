// A sandbox droplet's own machine: a curated root filesystem, in its own mount, PID, network, IPC and UTS
// namespaces with every capability dropped (bubblewrap), entered by each SSH session and cloud-init script with
// nsenter. The droplet sees its disk as `/`, its tools as the droplet contract lists them (docs/droplet-contract.md),
// its own processes only, and loopback only; it reaches the sandbox through one bind-mounted unix socket.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

/** Where the droplet's command socket appears inside it (the droplet client's default). */
export const DROPLET_SOCKET_DIR = '/run/trigger-ops-sandbox';
export const DROPLET_SOCKET_NAME = 'commands.sock';

/** The droplet contract's commands that are the host's own programs, bound read-only into the droplet's /usr/bin. */
const COREUTILS = `arch b2sum base32 base64 basename basenc cat chgrp chmod chown cksum comm cp csplit cut date dd dir
  dircolors dirname du echo env expand expr factor false fmt fold groups head hostid id install join link ln logname ls
  md5sum mkdir mkfifo mknod mktemp mv nice nl nohup nproc numfmt od paste pathchk pr printenv printf ptx pwd readlink
  realpath rm rmdir seq sha1sum sha224sum sha256sum sha384sum sha512sum shred shuf sleep sort split stat stdbuf stty
  sum sync tac tail tee test timeout touch tr true truncate tsort tty uname unexpand uniq unlink vdir wc whoami yes`;
const HOST_TOOLS: readonly string[] = [
  'bash',
  ...COREUTILS.split(/\s+/).filter(Boolean),
  'sed',
  'grep',
  'awk',
  'flock',
  'setsid',
  'hostname',
  // The sandbox's own machinery: sessions drop their capabilities with it once inside (Ubuntu ships it too).
  'setpriv',
];

/** Stand-ins answered by the sandbox through the socket, at the paths Ubuntu has them. */
export const STAND_IN_PATHS: Readonly<Record<string, string>> = {
  docker: '/usr/bin/docker',
  'cloud-init': '/usr/bin/cloud-init',
  systemctl: '/usr/bin/systemctl',
  'apt-get': '/usr/bin/apt-get',
  df: '/usr/bin/df',
  iptables: '/usr/sbin/iptables',
  ufw: '/usr/sbin/ufw',
  sysctl: '/usr/sbin/sysctl',
};

/** Host directories of shared libraries the bound programs load (read-only; no programs of their own on PATH). */
const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64'];

const SYSTEM_BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

// sudo on a droplet: we are root already, so drop sudo's own options and run the rest as is.
const SUDO = `#!/bin/bash
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-g|-C|-D|-h|-p|-r|-t|-U) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
exec "$@"
`;

// The image's /etc/os-release (ubuntu-24-04-x64).
const OS_RELEASE = `PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
`;

function hostProgram(name: string): string | undefined {
  for (const dir of SYSTEM_BIN_DIRS) {
    const path = join(dir, name);
    if (existsSync(path)) return realpathSync(path);
  }
  return undefined;
}

function onPath(name: string, dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...SYSTEM_BIN_DIRS]): string | undefined {
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const CLIENT_SOURCE_DIR = join(__dirname, 'client');

/** The droplet client binary for the current source (its name carries the source's hash, so an edit rebuilds it). */
export function dropletClientPath(toolsDir = join(PROJECT_ROOT, '.tools')): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'main.go']) hash.update(readFileSync(join(CLIENT_SOURCE_DIR, file)));
  return join(toolsDir, `droplet-client-${hash.digest('hex').slice(0, 12)}`);
}

function goBinary(): string | undefined {
  return process.env['GO'] ?? onPath('go') ?? ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));
}

/**
 * Builds the droplet client (a static Go binary) unless it is there already; returns its path or why it could not.
 * Concurrent builds are harmless: each writes its own temporary file and renames it into place.
 */
export function ensureDropletClient(toolsDir?: string): { path: string } | { problem: string } {
  const path = dropletClientPath(toolsDir);
  if (existsSync(path)) return { path };
  const go = goBinary();
  if (!go) return { problem: 'Go is needed to build the sandbox droplet client (apt-get install golang-go, or set GO=/path/to/go)' };
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const built = spawnSync(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', temporary, '.'], {
    cwd: CLIENT_SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    encoding: 'utf8',
  });
  if (built.status !== 0) {
    rmSync(temporary, { force: true });
    return { problem: `building the sandbox droplet client failed: ${(built.stderr || built.error?.message || '').trim()}` };
  }
  renameSync(temporary, path);
  return { path };
}

export interface IsolationKit {
  readonly bwrap: string;
  readonly nsenter: string;
  readonly client: string;
  /** droplet path → host file, every program bound into the droplet. */
  readonly programs: ReadonlyMap<string, string>;
  readonly libraryDirs: readonly string[];
}

let kit: IsolationKit | { problem: string } | undefined;

/**
 * What isolation needs on this machine (bubblewrap, nsenter and setpriv from util-linux, namespaces it may create,
 * the droplet client), checked once. Without it the sandbox refuses to start droplets; it never runs their commands
 * on the host.
 */
export function isolationKit(): IsolationKit {
  kit ??= findIsolationKit();
  if ('problem' in kit) {
    throw new Error(
      `sandbox droplets need isolation and this machine cannot give it: ${kit.problem}. ` +
        'Install bubblewrap and util-linux (apt-get install bubblewrap util-linux) and run as root or with user namespaces.',
    );
  }
  return kit;
}

/** Looks for what isolation needs in `searchDirs` (default: PATH and the system directories). */
export function findIsolationKit(searchDirs?: readonly string[]): IsolationKit | { problem: string } {
  const bwrap = onPath('bwrap', searchDirs ? [...searchDirs] : undefined);
  const nsenter = onPath('nsenter', searchDirs ? [...searchDirs] : undefined);
  if (!bwrap) return { problem: 'bubblewrap (bwrap) is not installed' };
  if (!nsenter) return { problem: 'nsenter (util-linux) is not installed' };
  const programs = new Map<string, string>();
  for (const name of HOST_TOOLS) {
    const host = hostProgram(name);
    if (host) programs.set(`/usr/bin/${name}`, host);
    else if (name === 'bash' || name === 'setpriv') return { problem: `${name} is not installed` };
  }
  const dash = hostProgram('dash');
  programs.set('/usr/bin/sh', dash ?? (programs.get('/usr/bin/bash') as string));
  const client = ensureDropletClient();
  if ('problem' in client) return client;
  for (const path of Object.values(STAND_IN_PATHS)) programs.set(path, client.path);
  const libraryDirs = LIBRARY_DIRS.filter((d) => existsSync(d));
  const probe = spawnSync(bwrap, ['--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--proc', '/proc', '--', 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.status !== 0) return { problem: `bwrap cannot create namespaces here (${(probe.stderr || probe.error?.message || '').trim()})` };
  return { bwrap, nsenter, client: client.path, programs, libraryDirs };
}

/**
 * Lays out a fresh droplet disk like the image's: the Ubuntu tree (merged /usr), /etc/os-release, hostname, passwd,
 * the mount points of its programs, sudo. Idempotent: a reboot keeps what the droplet wrote.
 */
export function layOutImage(root: string, hostname: string): void {
  for (const dir of ['etc/ssh', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/local/bin', 'var/lib', 'var/log', 'opt', 'root', 'home', 'tmp', 'run', 'proc', 'dev']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['var/run', '../run']] as const) {
    if (!existsSync(join(root, link))) symlinkSync(target, join(root, link));
  }
  const file = (path: string, body: string, mode = 0o644) => {
    if (existsSync(join(root, path))) return;
    writeFileSync(join(root, path), body);
    chmodSync(join(root, path), mode);
  };
  file('etc/os-release', OS_RELEASE);
  file('etc/hostname', `${hostname}\n`);
  file('etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${hostname}\n`);
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  file('etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  file('usr/bin/sudo', SUDO, 0o755);
}

export interface DropletNamespace {
  /** Runs a program inside the droplet as root without capabilities, in `cwd` (a droplet path). */
  spawn(argv: readonly string[], options: { cwd: string; env: Record<string, string>; stdio: StdioOptions }): ChildProcess;
  /** The droplet's processes (host pids and command lines), its init excepted. */
  processes(): { pid: number; command: string }[];
  /** Power loss: every process of the droplet dies at once. */
  kill(): Promise<void>;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

interface NamespaceProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

/** The keeper: what the droplet's init waits on (once it runs, every mount of the droplet is in place). */
const KEEPER = ['/usr/bin/sleep', 'infinity'];

/** Live host processes in the PID namespace of `initPid` (matched by /proc/PID/ns/pid), zombies left out. */
function scanNamespace(initPid: number): NamespaceProcess[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const found: NamespaceProcess[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!/^\d+$/.test(name) || pid === initPid) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
    } catch {
      continue;
    }
    const stat = readOr(`/proc/${name}/stat`, '');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === undefined || state === 'Z') continue;
    found.push({ pid, ppid: Number(ppid), command: readOr(`/proc/${name}/cmdline`, '').split('\0').filter(Boolean).join(' ') });
  }
  return found;
}

const isKeeper = (initPid: number) => (p: NamespaceProcess) => p.ppid === initPid && p.command === KEEPER.join(' ');

/** Starts a droplet's namespaces (its init) on `root`, with `socketDir` bound read-only at DROPLET_SOCKET_DIR. */
export async function startNamespace(root: string, hostname: string, socketDir: string): Promise<DropletNamespace> {
  const { bwrap, nsenter, programs, libraryDirs } = isolationKit();
  layOutImage(root, hostname);
  const args = ['--die-with-parent', '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  args.push('--hostname', hostname, '--cap-drop', 'ALL', '--bind', root, '/');
  for (const dir of libraryDirs) args.push('--ro-bind', dir, dir);
  for (const [inside, host] of programs) args.push('--ro-bind', host, inside);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/run', '--ro-bind', socketDir, DROPLET_SOCKET_DIR);
  args.push('--info-fd', '3', '--', ...KEEPER);
  const init = spawn(bwrap, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const initPid = await new Promise<number>((resolvePid, reject) => {
    let info = '';
    let stderr = '';
    init.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const infoStream = init.stdio[3] as NodeJS.ReadableStream;
    infoStream.on('data', (c: Buffer) => {
      info += c.toString('utf8');
      const match = /"child-pid":\s*(\d+)/.exec(info);
      if (match) resolvePid(Number(match[1]));
    });
    init.once('error', reject);
    init.once('exit', (code) => reject(new Error(`the droplet's namespace did not start (bwrap exit ${code}): ${stderr.trim()}`)));
  });
  const exited = new Promise<void>((done) => (init.exitCode !== null ? done() : init.once('exit', () => done())));
  // bwrap reports the init's pid before it has made the mounts; a session entering earlier would see a bare disk.
  for (let waited = 0; !scanNamespace(initPid).some(isKeeper(initPid)); waited += 5) {
    if (init.exitCode !== null || waited > 10_000) throw new Error(`the droplet's namespace did not come up (bwrap exit ${init.exitCode})`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    spawn(argv, options) {
      // nsenter's own --wd resolves before the root changes, so the session changes directory once inside.
      const enter = ['--target', String(initPid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd', '--'];
      const drop = ['/usr/bin/setpriv', '--bounding-set=-all', '--inh-caps=-all', '--no-new-privs', '--'];
      const inside = ['/usr/bin/bash', '-c', 'cd "$0" 2>/dev/null || cd /; exec "$@"', options.cwd, ...argv];
      return spawn(nsenter, [...enter, ...drop, ...inside], { env: options.env, stdio: options.stdio, detached: true });
    },
    processes: () => scanNamespace(initPid).filter((p) => !isKeeper(initPid)(p)).map(({ pid, command }) => ({ pid, command })),
    async kill() {
      try {
        process.kill(initPid, 'SIGKILL');
      } catch {
        // Gone already.
      }
      init.kill('SIGKILL');
      await exited;
    },
  };
}
