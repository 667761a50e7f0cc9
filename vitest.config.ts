import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Test files that run the charts on the local runtime through ChartRun (test/infra/support/chart-runtime.ts) need
 * root, as the runtime does; the others that need it say so themselves (describe.runIf). As an ordinary user they are
 * left out with a notice, and run as root or inside `slotforge unshare -- npx vitest run FILES` (README, non-root).
 */
function chartRunFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .filter((f) => /\bnew ChartRun\(/.test(readFileSync(f, 'utf8')));
}
const rootOnly = process.getuid?.() === 0 ? [] : chartRunFiles('test');
if (rootOnly.length > 0) {
  console.error(
    `vitest: not root: ${rootOnly.length} test files that run the local runtime are left out (${rootOnly.join(', ')}); run them as root or with 'npx slotforge unshare -- npx vitest run FILES'`,
  );
}

export default defineConfig({
  resolve: {
    // Tests import the client package by name, as applications do, but from its source.
    alias: { '@slotforge/client': fileURLToPath(new URL('./client/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...rootOnly],
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
