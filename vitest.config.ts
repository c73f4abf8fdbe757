import { defineConfig } from 'vitest/config'

const packages = ['core', 'device', 'app', 'firmware-sim', 'test']
const under = (suffix: string): string[] => packages.map((p) => `${p}/**/*${suffix}`)

export default defineConfig({
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: under('.test.ts'),
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.browser.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: under('.int.test.ts'),
          // One file at a time: they share real services (the Kafka test broker, which the outage
          // test stops and starts) and measure crash recovery against wall-clock deadlines.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { test: { name: 'e2e', include: under('.e2e.test.ts'), testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'browser', include: under('.browser.test.ts'), testTimeout: 60_000 } },
    ],
  },
})
