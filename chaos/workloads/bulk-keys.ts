import { randomUUID } from 'node:crypto';
import { connectData } from './connect.ts';
import { type Workload, withTimeout } from './workload.ts';

/** A workload that writes a body of keys first and says when they are all written (`ready`). */
export interface BulkKeys extends Workload {
  readonly ready: Promise<void>;
}

/**
 * Writes `count` keys (`chaos:<run>:b:<n>`, kind `bulk-write`) as fast as the cluster takes them, then idles until
 * the run ends; `verify` reads each back. It gives a slot migration keys to move, so a fault can land in the middle
 * of one (kill-during-migration), and the lost-writes checker proves none of them was lost on the way.
 */
export function bulkKeys(count = 50_000): BulkKeys {
  const written: Array<{ key: string; value: string }> = [];
  const prefix = `chaos:${randomUUID().slice(0, 8)}:b`;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  return {
    name: 'bulk-keys',
    ready,
    async run({ connection, recorder, signal, operationTimeoutMs }) {
      // Auto-pipelining: one round trip per node and tick, so 50 000 keys take seconds.
      const client = connectData(connection, { autoPipelining: true });
      try {
        for (let i = 0; i < count && !signal.aborted; i += 1000) {
          await Promise.all(
            Array.from({ length: Math.min(1000, count - i) }, async (_, j) => {
              const key = `${prefix}:${i + j}`;
              const value = `${key}:${Date.now()}`;
              const done = await recorder.invoke('bulk-write', { key, value }, async () => {
                await withTimeout(client.set(key, value), operationTimeoutMs);
                return null;
              });
              if (done !== undefined) written.push({ key, value });
            }),
          );
        }
      } finally {
        markReady();
        client.disconnect();
      }
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    async verify({ connection, recorder, operationTimeoutMs }) {
      const client = connectData(connection, { autoPipelining: true });
      try {
        for (let i = 0; i < written.length; i += 1000) {
          await Promise.all(
            written.slice(i, i + 1000).map(({ key }) =>
              recorder.invoke('verify', { key }, async () => {
                // 50 000 reads on a loaded machine: a read that times out is asked again (twice) rather than
                // counted as a lost write; a key that is really gone reads null, which no retry changes.
                for (let attempt = 1; ; attempt++) {
                  try {
                    return await withTimeout(client.get(key), operationTimeoutMs);
                  } catch (error) {
                    if (attempt >= 3) throw error;
                  }
                }
              }),
            ),
          );
        }
      } finally {
        client.disconnect();
      }
    },
  };
}
