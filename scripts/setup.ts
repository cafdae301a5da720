// `npm run setup`: what the project needs besides its npm packages, each found or installed once and then quick:
// the Temporal CLI (its dev server runs the embedded mode and the tests) and the sandbox's droplet client (a static
// Go binary, the one program behind every stand-in command inside an isolated sandbox droplet).
import { setup as setupTemporal } from '../src/controller/temporal-cli';
import { ensureDropletClient } from '../sandbox/droplets/isolation';

async function main(): Promise<void> {
  await setupTemporal();
  const client = ensureDropletClient();
  // Only the sandbox needs it; against the real clouds nothing does. The sandbox refuses droplets without it.
  if ('problem' in client) process.stderr.write(`[setup] the sandbox cannot start droplets: ${client.problem}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
