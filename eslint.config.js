// @ts-check
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import tseslint from 'typescript-eslint'

/** Only these folders may import these packages (STYLE.md, "Layout shows the architecture"). */
const boundaries = [
  { name: 'lmdb', allowedIn: ['core/src/log/**', 'core/src/state/**'] },
  { name: 'onnxruntime-node', allowedIn: ['device/src/pipeline/**'] },
  { name: 'serialport', allowedIn: ['device/src/sensors/serial/**'] },
  { name: 'node-ble', allowedIn: ['device/src/sensors/ble/**'] },
]

const restrictedEverywhere = [
  {
    group: ['@vigil/*/src/*', '**/../../*/src/*'],
    message: "Import another package's public API (@vigil/x), not its src/ internals.",
  },
  { group: ['**/internal/*'], message: 'internal/ folders are private to their package.' },
]

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.data/**', 'coverage/**', 'bench/.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `const { own, ...rest } = options` is how an option bag is split between layers.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      'no-restricted-imports': [
        'error',
        {
          paths: boundaries.map((b) => ({
            name: b.name,
            message: `only ${b.allowedIn.join(', ')} may import ${b.name}`,
          })),
          patterns: restrictedEverywhere,
        },
      ],
    },
  },
  ...boundaries.map((b) => ({
    files: b.allowedIn.map((g) => `${g.replace(/\/\*\*$/, '')}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: boundaries
            .filter((o) => o !== b)
            .map((o) => ({ name: o.name, message: `only ${o.allowedIn.join(', ')} may import ${o.name}` })),
          patterns: restrictedEverywhere,
        },
      ],
    },
  })),
  {
    files: ['**/*.test.ts', '**/test/**/fixtures/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and benchmarks measure the library from outside; they may reach lmdb directly for a baseline.
      'no-restricted-imports': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
)
