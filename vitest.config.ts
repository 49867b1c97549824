import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (no build needed to test); tests run in the SSR environment.
  resolve: { conditions: ['mlgrid-source'] },
  ssr: { resolve: { conditions: ['mlgrid-source'], externalConditions: ['mlgrid-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Never read the developer's own CLI defaults (~/.mlgrid/config.json): this folder does not exist.
    env: { MLGRID_CONFIG_DIR: join(tmpdir(), `mlgrid-test-config-none-${process.pid}`) },
    // Generous: CLI tests start real `mlgrid` processes through tsx, seconds each on a busy 2-core machine.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // Server processes and PostgreSQL schemas are per test file; files run in parallel.
    pool: 'forks',
  },
});
