import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Host commands answered by the sandbox process (over the host socket); `docker` goes to the docker socket. */
export const HOST_STAND_INS = ['cloud-init', 'systemctl', 'iptables', 'ufw', 'apt-get', 'sysctl', 'df'] as const;

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Absolute command line that runs a TypeScript file of this directory with tsx, as a stand-in or a container. */
export function tsxCommand(script: string): readonly string[] {
  return [process.execPath, '--import', require.resolve('tsx'), join(__dirname, script)];
}

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

/** Writes the droplet's stand-in commands into `binDir` (first on every session's PATH). */
export function writeStandIns(binDir: string, sockets: { readonly host: string; readonly docker: string }): void {
  mkdirSync(binDir, { recursive: true });
  const client = [process.execPath, join(__dirname, 'stand-in-client.cjs')].map(quote).join(' ');
  const write = (name: string, body: string) => {
    const path = join(binDir, name);
    writeFileSync(path, body);
    chmodSync(path, 0o755);
  };
  write('docker', `#!/bin/sh\nexec ${client} ${quote(sockets.docker)} docker "$@"\n`);
  for (const tool of HOST_STAND_INS) write(tool, `#!/bin/sh\nexec ${client} ${quote(sockets.host)} ${tool} "$@"\n`);
  write('sudo', SUDO);
}
