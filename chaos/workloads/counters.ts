import { randomUUID } from 'node:crypto';
import { connectData, FAILURE_BACKOFF_MS, refreshingOnFailure } from './connect.ts';
import { type Workload, withTimeout } from './workload.ts';

/** How long WAIT waits for a replica after each increment. */
const WAIT_TIMEOUT_MS = 100;

/** Options of {@link counters}. */
export interface CountersOptions {
  /** Counter keys, spread over the slots. @default 6 */
  readonly keys?: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** A safety bound: the scenario's signal ends the run. @default 1000000 */
  readonly maxOperations?: number;
}

/**
 * INCRBY 1 (confirmed with WAIT 1) on a few counters, with a GET every tenth operation; the counter-bounds checker
 * decides from the history whether any acknowledged increment was lost or any failed one applied.
 */
export function counters(options: CountersOptions = {}): Workload {
  // Fresh counters per run: scenarios that share a deployment start from 0.
  const run = randomUUID().slice(0, 8);
  const keys = Array.from({ length: options.keys ?? 6 }, (_, i) => `chaos:${run}:c:${i}`);
  return {
    name: 'counters',
    async run({ connection, recorder, signal, operationTimeoutMs }) {
      const client = connectData(connection);
      let n = 0;
      const max = options.maxOperations ?? 1_000_000;
      const worker = async () => {
        while (!signal.aborted && n < max) {
          const key = keys[n++ % keys.length] as string;
          if (n % 10 === 0) {
            await recorder.invoke('read-counter', { key }, async () =>
              Number((await withTimeout(client.get(key), operationTimeoutMs)) ?? 0),
            );
          } else {
            // INCRBY then WAIT in one pipeline (same slot, same master): the reply says whether a replica has it.
            const applied = await recorder.invokeReplicated('incr', { key, value: 1 }, () =>
              refreshingOnFailure(
                client,
                async () => {
                  const replies = await withTimeout(
                    client.pipeline().incrby(key, 1).call('WAIT', 1, WAIT_TIMEOUT_MS).exec(),
                    operationTimeoutMs,
                  );
                  const [incr, wait] = replies ?? [];
                  if (incr?.[0]) throw incr[0];
                  return { result: Number(incr?.[1]), replicas: wait?.[0] ? 0 : Number(wait?.[1] ?? 0) };
                },
                key,
              ),
            );
            if (applied === undefined) await new Promise((resolve) => setTimeout(resolve, FAILURE_BACKOFF_MS));
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
      } finally {
        client.disconnect();
      }
    },
    async verify({ connection, recorder, operationTimeoutMs }) {
      const client = connectData(connection);
      try {
        for (const key of keys) {
          await recorder.invoke('read-counter', { key }, async () =>
            Number((await withTimeout(client.get(key), operationTimeoutMs)) ?? 0),
          );
        }
      } finally {
        client.disconnect();
      }
    },
  };
}
