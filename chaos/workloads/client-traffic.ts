import { randomUUID } from 'node:crypto';
import { createClient, type SlotforgeClient } from '@slotforge/client';
import type { TargetConnection } from '../target.ts';
import { type Workload, withTimeout } from './workload.ts';

/** Options of {@link clientTraffic}. */
export interface ClientTrafficOptions {
  /** Concurrent callers. @default 8 */
  readonly concurrency?: number;
  /** Distinct getOrSet keys (hot set). @default 200 */
  readonly hotKeys?: number;
  /**
   * Upper bound on operations (a safety bound: the scenario's signal ends the run). @default 1500000. 600000 ended the
   * workload before the end of a 97 s rolling restart (matrix of 2026-12-05 22:41 UTC: about 6000 operations/s).
   */
  readonly maxOperations?: number;
}

/** A @slotforge/client for the target, in `namespace` (also used by the pub/sub workload). */
export function connectClient(connection: TargetConnection, namespace: string): SlotforgeClient {
  return createClient({
    ...(connection.kind === 'cluster'
      ? { cluster: { nodes: connection.seeds.map((s) => ({ host: s.host, port: s.port })) } }
      : {
          sentinel: {
            sentinels: connection.seeds.map((s) => ({ host: s.host, port: s.port })),
            masterName: connection.masterName ?? 'mymaster',
            ...(connection.sentinelPassword ? { password: connection.sentinelPassword } : {}),
          },
        }),
    ...(connection.username ? { username: connection.username } : {}),
    ...(connection.password ? { password: connection.password } : {}),
    namespace,
    defaultTtlMs: 10 * 60_000,
  });
}

/**
 * What an application does through @slotforge/client: writes of unique keys confirmed by one replica (kind `client-write`,
 * verified afterwards) and getOrSet reads of a hot set (kind `get-or-set`, which must return the loader's value).
 * Operations get the client's own deadline and retries, so planned operations must cost them nothing.
 */
export function clientTraffic(options: ClientTrafficOptions = {}): Workload {
  const written: Array<{ key: string; value: string }> = [];
  // The client's key namespace, fresh per run: scenarios that share a deployment never read each other's keys.
  const namespace = `chaos-${randomUUID().slice(0, 8)}`;
  return {
    name: 'client-traffic',
    async run({ connection, recorder, signal, operationTimeoutMs }) {
      const client = connectClient(connection, namespace);
      const deadline = Math.max(operationTimeoutMs, 10_000);
      let n = 0;
      const max = options.maxOperations ?? 1_500_000;
      const hot = options.hotKeys ?? 200;
      const worker = async () => {
        while (!signal.aborted && n < max) {
          const i = n++;
          if (i % 2 === 0) {
            const key = `w:${i}`;
            const value = `${key}:${i}`;
            const done = await recorder.invoke('client-write', { key: `${namespace}:${key}`, value }, async () => {
              await withTimeout(client.set(key, value, { waitReplicas: 1 }), deadline);
              return null;
            });
            if (done !== undefined) written.push({ key, value });
          } else {
            const key = `hot:${i % hot}`;
            await recorder.invoke('get-or-set', { key: `${namespace}:${key}` }, async () => {
              const value = await withTimeout(
                client.getOrSet(key, async () => `loaded:${key}`),
                deadline,
              );
              if (value !== `loaded:${key}`) throw new Error(`getOrSet returned ${JSON.stringify(value)} for ${key}`);
              return value;
            });
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
      } finally {
        await client.close();
      }
    },
    async verify({ connection, recorder }) {
      const client = connectClient(connection, namespace);
      try {
        for (let i = 0; i < written.length; i += 500) {
          await Promise.all(
            written.slice(i, i + 500).map(({ key }) =>
              recorder.invoke('verify', { key: `${namespace}:${key}` }, async () => {
                const value = await client.get<string>(key);
                return value ?? null;
              }),
            ),
          );
        }
      } finally {
        await client.close();
      }
    },
  };
}
