import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // Nested node_modules and CDK cloud assemblies too (infra/aws is an npm workspace).
    exclude: ['**/node_modules/**', 'dist/**', '**/cdk.out/**'],
    // Property tests and the 50-seed accuracy runs are CPU-bound; two cores here.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One printed fast-check seed per run, applied in every worker: FC_SEED=<seed> replays a failure.
    globalSetup: ['test/fast-check-seed.ts'],
    setupFiles: ['test/fast-check-worker.ts'],
  },
});
