import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { watchClientSlots } from '../observe/index.ts';
import { connectData, FAILURE_BACKOFF_MS, refreshingOnFailure } from './connect.ts';
import { type Workload, withTimeout } from './workload.ts';

/** Options of {@link acknowledgedWrites}. */
export interface AcknowledgedWritesOptions {
  /** Concurrent writers. @default 8 */
  readonly concurrency?: number;
  /** Upper bound on writes, whatever the duration (a safety bound: the scenario's signal ends the run). @default 2000000 */
  readonly maxOperations?: number;
  /** Replicas WAIT asks for. @default 1 */
  readonly waitReplicas?: number;
  /** @default 100 */
  readonly waitTimeoutMs?: number;
}

/**
 * Writes unique keys (`chaos:<run>:w:<n>`), each SET followed by WAIT in the same pipeline (so both reach the key's master).
 * A write is acknowledged when SET answered OK; its `result` is how many replicas WAIT saw, so the checker can tell
 * Redis's documented asynchronous-replication window from a real loss. `verify` reads every acknowledged key back.
 */
export function acknowledgedWrites(options: AcknowledgedWritesOptions = {}): Workload {
  const written: Array<{ key: string; value: string }> = [];
  // Unique per run: scenarios that share a deployment never read each other's keys.
  const prefix = `chaos:${randomUUID().slice(0, 8)}:w`;
  return {
    name: 'acknowledged-writes',
    async run({ connection, recorder, signal, operationTimeoutMs }) {
      const client = connectData(connection);
      // When this client routes the affected slots to the new master: a phase of the failover timeline.
      const unwatch = client instanceof Cluster ? watchClientSlots(client, recorder) : () => {};
      let n = 0;
      const max = options.maxOperations ?? 2_000_000;
      const writer = async () => {
        while (!signal.aborted && n < max) {
          const key = `${prefix}:${n++}`;
          const value = `${key}:${Date.now()}`;
          const replicas = await recorder.invoke('write', { key, value }, async () => {
            return refreshingOnFailure(
              client,
              async () => {
                const replies = await withTimeout(
                  client
                    .pipeline()
                    .set(key, value)
                    .call('WAIT', options.waitReplicas ?? 1, options.waitTimeoutMs ?? 100)
                    .exec(),
                  operationTimeoutMs,
                );
                const [set, wait] = replies ?? [];
                if (set?.[0]) throw set[0];
                return wait?.[0] ? 0 : Number(wait?.[1] ?? 0);
              },
              key,
            );
          });
          if (replicas !== undefined) written.push({ key, value });
          else await new Promise((resolve) => setTimeout(resolve, FAILURE_BACKOFF_MS));
        }
      };
      try {
        await Promise.all(Array.from({ length: options.concurrency ?? 8 }, writer));
      } finally {
        unwatch();
        client.disconnect();
      }
    },
    async verify({ connection, recorder, operationTimeoutMs }) {
      // Auto-pipelining batches the reads per node: verifying 100k keys takes seconds, not minutes.
      const client = connectData(connection, { autoPipelining: true });
      try {
        for (let i = 0; i < written.length; i += 1000) {
          const batch = written.slice(i, i + 1000);
          await Promise.all(
            batch.map(({ key }) =>
              recorder.invoke('verify', { key }, () => withTimeout(client.get(key), operationTimeoutMs)),
            ),
          );
        }
      } finally {
        client.disconnect();
      }
    },
  };
}
