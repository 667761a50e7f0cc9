import { Cluster } from 'ioredis';
import type { Fault } from '../scenario.ts';
import { type ChaosTarget, UnsupportedFaultError } from '../target.ts';
import { connectData } from '../workloads/index.ts';

/** The dataset `rolling-restart-large` loads before its workloads start. */
export interface DatasetOptions {
  /** Keys in all. @default 1_500_000 */
  readonly keys?: number;
  /** Bytes per value. @default 100 */
  readonly valueBytes?: number;
}

/** Keys per hash tag: one pipeline per tag, so every command of a pipeline goes to one slot. */
const KEYS_PER_TAG = 1000;
/** Pipelines in flight at once. */
const PIPELINES_IN_FLIGHT = 8;

/**
 * Loads `keys` keys of `valueBytes` bytes through the deployment's app user (the same path as an application), spread
 * over every shard by hash tags (`{ds<n>}:<i>`). 1.5 M keys of 100 bytes (about 90 MiB of data per master) made one
 * full resync of a replica of the default chart take 8 s or more on our 2-core machines (measured in the drill).
 */
export async function loadDataset(target: ChaosTarget, options: DatasetOptions = {}): Promise<void> {
  const keys = options.keys ?? 1_500_000;
  const value = 'v'.repeat(options.valueBytes ?? 100);
  const client = connectData(await target.connection());
  if (!(client instanceof Cluster)) throw new UnsupportedFaultError(target.name, 'load a dataset into a non-cluster');
  try {
    const tags = Math.ceil(keys / KEYS_PER_TAG);
    let next = 0;
    const worker = async () => {
      for (let tag = next++; tag < tags; tag = next++) {
        const pipeline = client.pipeline();
        const end = Math.min(keys, (tag + 1) * KEYS_PER_TAG);
        for (let i = tag * KEYS_PER_TAG; i < end; i++) pipeline.set(`{ds${tag}}:${i}`, value);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([error]) => error);
        if (failed) throw new Error(`dataset: pipeline of tag ${tag} failed: ${failed[0]?.message}`);
      }
    };
    await Promise.all(Array.from({ length: PIPELINES_IN_FLIGHT }, worker));
  } finally {
    client.disconnect();
  }
}

/**
 * `kubectl rollout restart` of every StatefulSet: the controller replaces the pods one per StatefulSet at a time and
 * moves on only when the new pod is Ready, so what this drill proves is the readiness gate itself (probe.sh: a
 * replica is Ready only linked and not syncing) and preStop's hand-over to an in-sync replica only.
 */
export function statefulSetRollout(timeoutMs = 600_000): Fault {
  return {
    async inject(target) {
      if (!target.rolloutRestart) throw new UnsupportedFaultError(target.name, 'rollout restart');
      const report = await target.rolloutRestart(timeoutMs);
      const longest = Math.max(0, ...report.syncs.map((s) => s.ms));
      return {
        pods: report.pods,
        affectedSlots: [],
        description: `rollout restart of ${report.pods.length} pods in ${report.durationMs} ms; ${report.syncs.length} full resyncs, the longest ${longest} ms (${report.syncs.map((s) => `${s.pod} ${s.ms} ms`).join(', ')})`,
        figures: { rolloutMs: report.durationMs, fullResyncs: report.syncs.length, longestFullResyncMs: longest },
      };
    },
    heal: async () => {},
  };
}
