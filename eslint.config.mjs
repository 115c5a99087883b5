import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Types come in by `import type`: erased at compile time, they are no runtime dependency
      // (scripts/check-cycles.mjs, also run by lint, finds cycles among the runtime ones).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    // The query server and the console verbs read ClickHouse through the collector's parts
    // (storage, auth, model, config), never its runtime; only the verbs that run a collector
    // load it, through cli/load-collector.ts. Types may come from anywhere (erased).
    files: ['query-ui/src/**/*.ts'],
    ignores: ['query-ui/src/**/*.test.ts', 'query-ui/src/bench/**', 'query-ui/src/cli/load-collector.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@distlog/collector',
              allowTypeImports: true,
              message:
                'the query server must not load the collector runtime: import @distlog/collector/storage, /auth, /model or /config',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['query-ui/web/**/*.{ts,tsx,mts}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
