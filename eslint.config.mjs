import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'child_process', 'net', 'http', 'https', 'crypto', 'os', 'path', 'dns', 'tls', 'stream', 'util', 'timers'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'vendor/', 'test/replay/histories/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['bin/*.js', 'sandbox/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', Buffer: 'readonly' } },
  },
  {
    // Workflows are deterministic and bundled into a sandbox: no Node built-ins, no activity code, no clients.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', ...nodeBuiltins], message: 'Workflows may not use Node built-ins.' },
            { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker'], message: 'Not allowed in workflows.' },
            { regex: '(^|/)activities(/(?!contract$).*)?$', allowTypeImports: true, message: 'Import activities as types only (the timing contract excepted).' },
            { group: ['dots-wrapper', 'graphql-request', 'node-ssh', 'ssh2'], message: 'Clients belong in activities.' },
          ],
        },
      ],
    },
  },
);
