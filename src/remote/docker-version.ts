import { z } from 'zod';
import { shellQuote, type AgentCommand } from './agent-commands';

/**
 * `docker version --format '{{json .Server}}'`: what the droplet's Docker daemon speaks. Run by the controller over
 * SSH beside the agent's `status` (docs/droplet-contract.md), so the supervisor's DOCKER_API_VERSION is pinned to the
 * daemon it talks to, whichever Docker the image or the packages installed. Exit 1 while the daemon is down.
 */
export function dockerServerVersionCommand(): AgentCommand {
  return { command: ['docker', 'version', '--format', '{{json .Server}}'].map(shellQuote).join(' ') };
}

// The JSON names of moby's types.Version (the Go field is APIVersion, its JSON name ApiVersion).
const serverVersionSchema = z.object({
  Version: z.string(),
  ApiVersion: z.string().regex(/^1\.[0-9]{1,3}$/),
  MinAPIVersion: z.string().optional(),
});

export type DockerServerVersion = { readonly version: string; readonly apiVersion: string; readonly minApiVersion: string | undefined };

/** The daemon's version and API version from the command's output, or a message saying what was wrong with it. */
export function parseDockerServerVersion(stdout: string): DockerServerVersion | { readonly error: string } {
  let json: unknown;
  try {
    json = JSON.parse(stdout.trim());
  } catch {
    return { error: `docker version printed no JSON: ${JSON.stringify(stdout.trim().slice(0, 120))}` };
  }
  const parsed = serverVersionSchema.safeParse(json);
  if (!parsed.success) return { error: `docker version reported no server API version: ${JSON.stringify(stdout.trim().slice(0, 120))}` };
  return { version: parsed.data.Version, apiVersion: parsed.data.ApiVersion, minApiVersion: parsed.data.MinAPIVersion };
}
