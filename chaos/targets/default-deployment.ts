import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { defaultCharts } from '../../charts.ts';
import { addSentinelExample } from '../../infra/index.ts';
import { loadManifests, type ManifestSet } from '../../runtime/local/index.ts';

/**
 * The default RedisCluster deployment of `main.ts` (without the Sentinel example) synthesized with `shards` shards,
 * as a user editing `main.ts` and running `cdk8s synth` would get it: what the chaos suite applies to scale.
 */
export async function defaultClusterManifests(
  shards = 3,
  retiringShards = 0,
  memoryLimit?: string,
): Promise<ManifestSet> {
  const outdir = mkdtempSync(join(tmpdir(), 'slotforge-synth-'));
  try {
    const app = new App({ outdir });
    defaultCharts(app, { shards, retiringShards, sentinelExample: false, ...(memoryLimit ? { memoryLimit } : {}) });
    app.synth();
    return loadManifests(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Memory limit of the large-dataset variant of the default cluster: room for {@link LARGE_DATASET} (about 90 MiB per
 * member, maxmemory is three quarters of the limit) plus the copy-on-write of a full-sync fork.
 */
export const LARGE_DATASET_MEMORY_LIMIT = '768Mi';

/** The default cluster with {@link LARGE_DATASET_MEMORY_LIMIT}: the chart variant of the `rolling-restart-large` drill. */
export function largeDatasetClusterManifests(): Promise<ManifestSet> {
  return defaultClusterManifests(3, 0, LARGE_DATASET_MEMORY_LIMIT);
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
