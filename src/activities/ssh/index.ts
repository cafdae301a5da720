export { connectDroplet, type ConnectDropletOptions, type DropletConnection, type RunOptions, type RunResult } from './client';
export { HostKeyMismatchError, SshAuthError, SshInputError, SshUnavailableError, toSshFailure } from './errors';
