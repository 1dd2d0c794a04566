// Lint rules that catch what the type checker lets through: an unawaited promise, a promise where a
// callback's void is expected, a stray variable or import. Layout is not linted (no formatter either):
// the code keeps one consistent hand-written style, and a mass reformat would bury every blame line.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.quire/**', '.scratch/**', 'coverage/**', 'bench/_exp/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A fake server's options type that adds nothing to the shared one still names it per provider.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // Input sanitising matches NUL and other control characters on purpose.
      'no-control-regex': 'off',
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests read loosely typed JSON answers; the services they drive validate theirs with zod.
    files: ['**/*.test.ts', 'test/**/*.ts', '**/src/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
