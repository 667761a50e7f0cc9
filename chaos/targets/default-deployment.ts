import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { type DefaultChartsOptions, defaultCharts } from '../../charts.ts';
import { addSentinelExample } from '../../infra/index.ts';
import { loadManifests, type ManifestSet } from '../../runtime/local/index.ts';

/**
 * The default RedisCluster deployment of `main.ts` (without the Sentinel example) synthesized with `shards` shards,
 * as a user editing `main.ts` and running `cdk8s synth` would get it: what the chaos suite applies to scale.
 */
export async function defaultClusterManifests(
  shards = 3,
  retiringShards = 0,
  variant: Pick<DefaultChartsOptions, 'memoryLimit' | 'replicasPerShard'> = {},
): Promise<ManifestSet> {
  const outdir = mkdtempSync(join(tmpdir(), 'slotforge-synth-'));
  try {
    const app = new App({ outdir });
    defaultCharts(app, { shards, retiringShards, sentinelExample: false, ...variant });
    app.synth();
    return loadManifests(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The large-dataset variant of the default cluster, the chart of the `rolling-restart-large` drill. Memory: room for
 * the drill's dataset (about 90 MiB per member; maxmemory is the limit minus a quarter) plus the copy-on-write of a
 * full-sync fork. Two replicas per shard: writes acknowledged by a replica (WAIT 1, what the client workload asks)
 * need one in sync at every moment, and a rollout replaces one member per shard at a time while the restarted one
 * spends seconds in its full resync; with one replica such writes have no replica to wait for during every resync
 * (measured: 30 of 1715 client operations timed out).
 */
export const LARGE_DATASET_VARIANT = { memoryLimit: '768Mi', replicasPerShard: 2 } as const;

/** The default cluster as {@link LARGE_DATASET_VARIANT}. */
export function largeDatasetClusterManifests(): Promise<ManifestSet> {
  return defaultClusterManifests(3, 0, LARGE_DATASET_VARIANT);
}

/** The RedisSentinel example chart of `main.ts` (namespace `slotforge-sentinel`, named `sessions`), synthesized. */
export async function sentinelExampleManifests(): Promise<ManifestSet> {
  const outdir = mkdtempSync(join(tmpdir(), 'slotforge-synth-'));
  try {
    const app = new App({ outdir });
    addSentinelExample(app, { namespaceChart: new Chart(app, 'namespace') });
    app.synth();
    return loadManifests(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
