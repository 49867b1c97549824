import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['mlgrid-source'] },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Server processes and PostgreSQL schemas are per test file; files run in parallel.
    pool: 'forks',
  },
});
