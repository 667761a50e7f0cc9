import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import the client package by name, as applications do, but from its source.
    alias: { '@slotforge/client': fileURLToPath(new URL('./client/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Redis, Sentinel and the exporter by name resolve to the images' programs (test/support/image-path.ts).
    setupFiles: ['test/support/image-path.ts'],
    pool: 'forks',
    // Real servers on 2 cores: failovers take seconds and timing matters more than parallelism.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // Root tests run the local runtime from several files at once; per namespace one publishes host DNS at a time,
    // the others wait for it (runtime/local/host-dns-claim.ts), so hooks that start one allow RUNTIME_HOOK_TIMEOUT_MS
    // (test/support/harness-root.ts). CLIs the tests spawn inherit this.
    env: { SLOTFORGE_HOST_DNS_WAIT_MS: '420000' },
  },
});
