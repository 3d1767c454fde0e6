import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallel files few so timing-sensitive socket tests stay honest.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
    // The fault suite measures server memory after a full collection.
    execArgv: ['--expose-gc'],
  },
});
