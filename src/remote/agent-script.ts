import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The agent script in this repository. */
export const AGENT_SCRIPT_SOURCE = join(__dirname, 'agent.sh');
/** Where cloud-init installs it on the droplet (the sandbox puts it under the droplet's root). */
export const AGENT_INSTALL_PATH = '/usr/local/bin/trigger-ops-agent';

export function readAgentScript(): string {
  return readFileSync(AGENT_SCRIPT_SOURCE, 'utf8');
}

/** The script's AGENT_VERSION=… value, so the controller can tell whether a droplet runs the current agent. */
export function agentScriptVersion(script: string): string {
  const match = /^AGENT_VERSION=([0-9A-Za-z.+-]+)$/m.exec(script);
  if (!match?.[1]) throw new Error('Agent script has no AGENT_VERSION= line');
  return match[1];
}
