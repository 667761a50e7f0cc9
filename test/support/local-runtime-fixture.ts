import { join } from 'node:path';
import { afterAll } from 'vitest';
import {
  addObject,
  emptyManifestSet,
  LocalRuntime,
  type LocalRuntimeOptions,
  type ManifestSet,
} from '../../runtime/local/index.ts';
import { harnessTempDir } from './harness-root.ts';
import { cleanUpAndExpectNothingLeft } from './nothing-left.ts';

/** A manifest set of hand-written objects (tests). */
export function manifestSetOf(...objects: object[]): ManifestSet {
  const set = emptyManifestSet();
  for (const object of objects) addObject(set, object as never, 'test');
  return set;
}

/**
 * One local runtime for a describe block, in a state dir of the harness: `start` it in a test; after the block it is
 * stopped and nothing of it may be left (namespaces, links, hosts block, cgroups, supervisor).
 */
export function localRuntimeFixture(name: string) {
  const stateDir = join(harnessTempDir(name), 'state');
  let runtime: LocalRuntime | undefined;
  afterAll(async () => {
    await runtime?.stop(1000);
    await cleanUpAndExpectNothingLeft(stateDir);
  });
  return {
    stateDir,
    start: async (options: Omit<LocalRuntimeOptions, 'stateDir'>): Promise<LocalRuntime> => {
      runtime = await LocalRuntime.start({ stateDir, ...options });
      return runtime;
    },
  };
}
