import { ApplicationFailure } from '@temporalio/activity';
import { dockerServerVersionCommand, parseDockerServerVersion } from '../../remote/docker-version';
import { ErrorType } from '../../shared/errors';
import type { DropletConnection } from '../ssh/client';

/**
 * The API version the droplet's Docker daemon speaks ("1.47"), read on an open session. A stopped daemon is worth a
 * retry (the heal check starts it); an answer that is not Docker's is not.
 */
export async function readDockerApiVersion(c: DropletConnection, timeoutMs: number): Promise<string> {
  const result = await c.run(dockerServerVersionCommand().command, { timeoutMs });
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').pop() || `exit ${result.code}`;
    throw ApplicationFailure.retryable(`could not read the Docker API version on the droplet: ${why}`, ErrorType.Unavailable);
  }
  const parsed = parseDockerServerVersion(result.stdout);
  if ('error' in parsed) throw ApplicationFailure.nonRetryable(parsed.error, ErrorType.Rejected);
  return parsed.apiVersion;
}
