// Writes the workflow bundle once, at image build time, so a production worker starts without webpack:
// `tsx scripts/bundle-workflows.ts [out-file]` (default dist/workflow-bundle.js), then point
// TRIGGER_OPS_WORKFLOW_BUNDLE at the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../src/temporal/connection';
import { WORKFLOWS_PATH } from '../src/worker';

export const DEFAULT_BUNDLE_PATH = join(__dirname, '..', 'dist', 'workflow-bundle.js');

/** Bundles src/workflows with the same failure converter the worker and clients use, and writes it to outFile. */
export async function bundleWorkflows(outFile: string): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  const path = resolve(outFile);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return { path, bytes: Buffer.byteLength(code) };
}

if (require.main === module) {
  bundleWorkflows(process.argv[2] ?? DEFAULT_BUNDLE_PATH).then(
    ({ path, bytes }) => {
      const shown = path.startsWith(process.cwd()) ? relative(process.cwd(), path) : path;
      process.stdout.write(`workflow bundle written to ${shown} (${bytes} bytes)\n`);
    },
    (err: unknown) => {
      process.stderr.write(`✗ bundling the workflows failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
