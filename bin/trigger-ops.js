#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npm link` / `npx trigger-ops` work from a checkout without a build.
require('tsx/cjs');
require('../src/client.ts')
  .runCli(process.argv.slice(2))
  .then((code) => process.exit(code));
