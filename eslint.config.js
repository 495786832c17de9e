// Lint: ESLint's and typescript-eslint's recommended rules, plus limits for the core. Layering and import cycles are checked
// by dependency-cruiser (.dependency-cruiser.cjs), also part of `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.run/', 'data/', 'test-output/', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The core (docs/architecture.md, Code layout): small files and functions, and no hidden
    // dependence on the clock, timers or randomness, so the fast tier can test it with fakes.
    files: ['src/domain/**/*.ts', 'src/services/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock (src/services/ports/runtime.ts).' },
        { object: 'Math', property: 'random', message: 'Use the injected RandomSource (src/services/ports/runtime.ts).' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use the injected Clock.sleep.' },
        { name: 'setInterval', message: 'Schedule through a queue or the injected Clock.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'NewExpression[callee.name="Date"][arguments.length=0]', message: 'Use the injected Clock.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            // Only the deterministic digests and comparison: no randomness, keys or ciphers here.
            {
              name: 'node:crypto',
              allowImportNames: ['hash', 'createHash', 'timingSafeEqual'],
              message: 'Randomness and keys come through ports.',
            },
            { name: 'crypto', message: 'Import node:crypto (digests only), or use a port.' },
            { name: 'node:timers', message: 'Use the injected Clock.' },
            { name: 'node:timers/promises', message: 'Use the injected Clock.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/store/migrations.ts'],
    // Migrations must not depend on today's table types.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
