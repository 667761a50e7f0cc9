export { assertContainerEngine } from './container.ts';
export type { Fixture } from './fixtures.ts';
export { fixtureMode, useCluster, useSentinel, useStandalone } from './fixtures.ts';
export { harnessRegistry, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from './harness-root.ts';
export { localRuntimeFixture, manifestSetOf } from './local-runtime-fixture.ts';
export { cleanUpAndExpectNothingLeft, NOTHING_LEFT } from './nothing-left.ts';
export { runCloseChild } from './run-close-child.ts';
