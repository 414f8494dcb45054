// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The pure core, by folder: whatever is added to these folders is held to the rule.
const pureFolders = ['api', 'inject', 'iptables', 'render', 'status'];
const pureCore = pureFolders.map((f) => `src/${f}/**`);
// The certificate core: everything in src/certs but the Secret store (I/O, apart in store.ts).
pureCore.push('src/certs/**');
const pureIgnores = ['**/*.test.ts', 'src/certs/store.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'coverage/**', 'src/api/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      complexity: ['warn', 20],
      'max-depth': ['warn', 4],
      'max-params': ['warn', 5],
    },
  },
  {
    // The pure core does no I/O and reads no clock: imports point one way, edges -> core -> api.
    files: pureCore,
    ignores: pureIgnores,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:fs',
                'node:fs/*',
                'fs',
                'node:http',
                'node:https',
                'node:net',
                'node:child_process',
              ],
              message: 'pure core: no I/O',
            },
            {
              group: ['@kubernetes/client-node'],
              message: 'pure core: no Kubernetes client (types only)',
              allowTypeImports: true,
            },
            {
              group: [
                '**/kube/**',
                '**/controllers/**',
                '**/webhook/**',
                '**/doctor/**',
                '**/operator/**',
                '**/cli/**',
                '**/demo/**',
                '**/envtest/**',
              ],
              message: 'pure core must not import edges',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'pure core: pass a clock' },
        { object: 'process', property: 'env', message: 'pure core: pass configuration in' },
      ],
    },
  },
  {
    // Tests inspect API errors and parsed bodies freely.
    files: ['test/**', '**/*.test.ts', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
