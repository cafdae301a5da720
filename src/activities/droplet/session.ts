import { ApplicationFailure } from '@temporalio/activity';
import { parseAgentOutput, parseAgentProgressLine, type AgentCommand, type AgentOutput, type AgentVerb } from '../../remote/agent-commands';
import { ErrorType } from '../../shared/errors';
import { progress } from '../heartbeat';
import type { InstallationKeys } from '../secrets/installation-keys';
import type { DropletConnection } from '../ssh/client';
import { SshUnavailableError } from '../ssh/errors';

export type ConnectToDroplet = (input: { readonly host: string; readonly privateKey: string; readonly pinnedHostKey: string }) => Promise<DropletConnection>;

/**
 * The one way activities talk to a droplet: an SSH session with the installation's controller key, pinned to its host
 * key, and agent verbs whose JSON answers are parsed, with failures classified as permanent or worth a retry. Each
 * progress line the agent prints becomes a heartbeat with that line as its details.
 */
export function createAgentSession(deps: { readonly connect: ConnectToDroplet; readonly keys: InstallationKeys }) {
  const session = async <T>(installationId: string, ipv4: string, fn: (c: DropletConnection) => Promise<T>): Promise<T> => {
    const [controller, host] = await Promise.all([deps.keys.controllerKey(installationId), deps.keys.hostKey(installationId)]);
    const connection = await deps.connect({ host: ipv4, privateKey: controller.privateKey, pinnedHostKey: host.publicKey });
    try {
      return await fn(connection);
    } finally {
      connection.dispose();
    }
  };

  /** Runs one agent verb with a timeout from the timing contract (src/shared/activity-contract.ts BOUNDS). */
  const agent = async <V extends AgentVerb>(c: DropletConnection, verb: V, cmd: AgentCommand, timeoutMs: number): Promise<AgentOutput<V>> => {
    const result = await c.run(cmd.command, {
      ...(cmd.stdin !== undefined ? { stdin: cmd.stdin } : {}),
      timeoutMs,
      onStderrLine: (line) => {
        const step = parseAgentProgressLine(line);
        if (step) progress({ agent: verb, step });
      },
    });
    if (result.code === 255 && result.stdout.trim() === '') {
      // The session ended without an exit status: the connection was lost. The agent's run goes on on the droplet;
      // a retry with the same operation id adopts it.
      throw new SshUnavailableError(`the SSH connection was lost before agent ${verb} answered`, 'ECONNRESET');
    }
    const out = parseAgentOutput(verb, result.stdout);
    // `status` reports fully even when Docker is down (ok:false); the caller reads it.
    if (out.ok === false && !(verb === 'status' && 'agentVersion' in out)) {
      const error = 'error' in out && typeof out.error === 'string' ? out.error : 'unknown error';
      // A missing image or a refused configuration stays so however often it is retried; a stopped daemon does not.
      const permanent =
        /manifest unknown|not found|invalid|usage|nothing to roll back|cancelled/i.test(error) && !/cannot connect to the docker daemon/i.test(error);
      const message = `agent ${verb} failed on the droplet: ${error}`;
      throw permanent ? ApplicationFailure.nonRetryable(message, ErrorType.Rejected) : ApplicationFailure.retryable(message, ErrorType.Unavailable);
    }
    return out as AgentOutput<V>;
  };

  return { session, agent };
}
