import { defineConfig } from 'vitest/config';

// Runs the deliberately failing files below in a child vitest, for test/harness/leak.test.ts.
export default defineConfig({
  test: {
    root: new URL('../../../', import.meta.url).pathname,
    include: ['test/harness/leak-fixtures/*.fixture.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 1500,
    hookTimeout: 60_000,
  },
});
