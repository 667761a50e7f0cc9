import { expect } from 'vitest';
import { cleanupLocal, leftovers } from '../../runtime/local/index.ts';

/** What `leftovers(stateDir)` reports once a local runtime is stopped and cleaned up: nothing. */
export const NOTHING_LEFT = { namespaces: [], links: [], hostsBlock: false, cgroups: [], supervisor: undefined };

/** Removes what the local runtime of `stateDir` created, then asserts no namespace, link, hosts block, container cgroup or supervisor is left. */
export async function cleanUpAndExpectNothingLeft(stateDir: string): Promise<void> {
  await cleanupLocal(stateDir);
  expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
}
