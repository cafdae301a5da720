import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every process of a droplet, found by the environment the droplet gives them all (TRIGGER_OPS_ROOT=<its root>):
 * those that left their session's process group too (the agent's detached workers, `setsid`), which the droplet's
 * own bookkeeping cannot see. Processes of other users are unreadable and skipped; they are not ours.
 */
export function processesOfRoot(root: string): number[] {
  const marker = `TRIGGER_OPS_ROOT=${root}`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(marker)) pids.push(Number(name));
    } catch {
      // Gone already, or not ours.
    }
  }
  return pids;
}

/**
 * Power loss for what is left of a droplet's processes: SIGKILL, no goodbye. Scans again until none is left, since
 * one may fork between a scan and its kill. Returns how many were killed.
 */
export function killProcessesOfRoot(root: string): number {
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = processesOfRoot(root).filter((pid) => !isZombie(pid));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Exited meanwhile.
      }
    }
  }
  return killed;
}

/** Dead and waiting for its parent to reap it (which it may never do, under a PID 1 that does not reap). */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
