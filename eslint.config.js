// ESLint (flat config) with typescript-eslint's recommended rules, tuned to what this code base
// already follows: `npm run lint`. Type-aware rules are left out to keep a run short on 2 cores.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'artifacts/', 'reports/', 'native/build/', 'test/fixtures/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        WebAssembly: 'readonly',
      },
    },
    rules: {
      // Unused bindings are mistakes, except deliberately ignored ones (`_x`) and rest siblings.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `import type` keeps type-only imports out of the runtime (verbatimModuleSyntax agrees);
      // `import('…').T` annotations are how stage files name tfjs types without loading tfjs.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // Comma sequences in small parsers of tests, e.g. `(field += '"'), i++`.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Non-null assertions are how this code states invariants that noUncheckedIndexedAccess cannot see.
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Tests match column-aligned output, where literal runs of spaces read best.
      'no-regex-spaces': 'off',
      'prefer-const': 'error',
    },
  },
);
