import { createServer } from 'node:net';

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Picks a free 127.0.0.N address (N ≥ 2) on which every port a droplet serves can be bound. Other processes
 * (parallel test files) may run their own droplets, so each candidate is checked, not just remembered.
 */
export async function allocateLoopbackAddress(taken: ReadonlySet<string>, ports: readonly number[]): Promise<string> {
  const span = 250 * 250;
  // Start at a process-dependent offset so parallel sandboxes rarely probe the same addresses first.
  const offset = (process.pid * 7) % 250;
  for (let i = 0; i < span; i++) {
    const n = (offset + i) % span;
    const ip = `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
    if (taken.has(ip)) continue;
    let free = true;
    for (const port of ports) {
      if (!(await canBind(ip, port))) {
        free = false;
        break;
      }
    }
    if (free) return ip;
  }
  throw new Error('no free loopback address left for a sandbox droplet');
}
