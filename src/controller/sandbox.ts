/**
 * The product's one door to the sandbox (../../sandbox, beside src/): loaded on demand by `npm start` without cloud
 * credentials and by `trigger-ops sandbox`. The production image leaves the sandbox out, so nothing else may import
 * it (test/contract/production-image.test.ts follows every static import from the production entry points).
 */
export type SandboxModule = typeof import('../../sandbox');
export type { Sandbox } from '../../sandbox';

export function loadSandbox(): SandboxModule {
  try {
    return require('../../sandbox') as SandboxModule;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        'the sandbox is not part of this installation (the production image leaves it out): configure DIGITALOCEAN_TOKEN and a Railway token, or run from a clone of the repository',
      );
    }
    throw err;
  }
}
