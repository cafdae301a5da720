import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerServerVersionCommand, parseDockerServerVersion } from '../../src/remote/docker-version';

// Shaped like `docker version --format '{{json .Server}}'` from Docker Engine 29 (API 1.52, oldest accepted 1.44).
const DOCKER_29 =
  '{"Platform":{"Name":"Docker Engine - Community"},"Components":[{"Name":"Engine","Version":"29.1.3","Details":{"ApiVersion":"1.52","MinAPIVersion":"1.44"}}],' +
  '"Version":"29.1.3","ApiVersion":"1.52","MinAPIVersion":"1.44","GitCommit":"fbf3ed2","GoVersion":"go1.25.5","Os":"linux","Arch":"amd64","KernelVersion":"6.8.0-90-generic"}\n';

describe('docker server version', () => {
  it('asks for the server part only, quoted for the remote shell', () => {
    assert.equal(dockerServerVersionCommand().command, "docker version --format '{{json .Server}}'");
  });

  it("reads the daemon's API version from its JSON names", () => {
    assert.deepEqual(parseDockerServerVersion(DOCKER_29), { version: '29.1.3', apiVersion: '1.52', minApiVersion: '1.44' });
  });

  it('says what was wrong with an answer that is not a server version', () => {
    assert.match(String((parseDockerServerVersion('null\n') as { error: string }).error), /no server API version/);
    assert.match(String((parseDockerServerVersion('Client: Docker Engine\n') as { error: string }).error), /no JSON/);
    assert.ok('error' in parseDockerServerVersion('{"Version":"29.1.3","ApiVersion":"v1.52"}'));
  });
});
