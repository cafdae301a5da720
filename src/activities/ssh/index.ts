export { connectDroplet, type ConnectDropletOptions, type DropletConnection, type RunOptions, type RunResult } from './client';
export { HostKeyMismatchError, SshAuthError, SshUnavailableError, toSshFailure } from './errors';
