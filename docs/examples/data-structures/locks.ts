// Locks: run by test/client/structures/docs-examples.contract.ts on every deployment.
import { type ConnectionOptions, createClient, createLocks } from '@slotforge/client';

/** Stands in for a store that accepts a write only with a fencing token newer than the last one it saw. */
const storage = {
  lastToken: 0,
  rows: [] as string[],
  write(row: string, token: number) {
    if (token <= storage.lastToken) throw new Error(`stale token ${token}`);
    storage.lastToken = token;
    storage.rows.push(row);
  },
};

export async function run(connection: ConnectionOptions) {
  const client = createClient({ ...connection, namespace: 'example-locks' });
  try {
    const locks = client.use(createLocks, { ttlMs: 10_000 }); // auto-extended every ~3.3 s while held
    await Promise.all(
      ['a', 'b', 'c'].map((row) =>
        locks.withLock('nightly-report', async (lock) => {
          lock.assertHeld(); // throws E_LOCK_LOST if an extension failed
          storage.write(row, lock.token);
        }),
      ),
    );
    return { rows: storage.rows.length, tokensIncreased: storage.lastToken >= 3 };
  } finally {
    await client.close();
  }
}
