import { describe, expect, it } from 'vitest';
import type { RedisClusterProps } from '../../infra/index.ts';
import { addObject, emptyManifestSet, type ManifestSet, planApply } from '../../runtime/local/index.ts';
import { type Manifest, objectsOfKind, synthCluster } from './support/synth.ts';

/** The objects of a synthesized cluster as the local runtime loads them (namespace `ns`). */
function manifestSet(props: RedisClusterProps): ManifestSet {
  const set = emptyManifestSet();
  for (const object of synthCluster(props)) addObject(set, object as never, 'synth');
  return set;
}

const jobs = (props: RedisClusterProps): Manifest[] => objectsOfKind(synthCluster(props), 'Job');
const byComponent = (objects: Manifest[], component: string) =>
  objects.filter((j) => j.metadata.labels['app.kubernetes.io/component'] === component);

describe('Job names carry a hash of their pod template', () => {
  it('re-applying after an image upgrade creates new Jobs instead of failing on an immutable template', () => {
    const before = manifestSet({ image: 'redis:8.0.4' });
    const after = manifestSet({ image: 'redis:8.0.5' });
    // The local runtime's apply refuses a changed Job template under the same name, as the API server does.
    const changes = planApply(before, after);
    const jobChanges = changes.filter((c) => c.object.startsWith('Job/')).map((c) => c.action);
    // The topology Job and the auth Job's init container run the new image: both are new Jobs; the old ones stay, as
    // kubectl apply keeps what the new manifests no longer list.
    expect(jobChanges.filter((a) => a === 'created')).toHaveLength(2);
    expect(jobChanges.filter((a) => a === 'kept')).toHaveLength(2);
  });

  it('a change of the scripts (any Job input) is a new Job too; the same manifests re-applied change nothing', () => {
    const before = manifestSet({});
    const scripts = manifestSet({ nodeTimeoutMs: 6000 }); // redis.conf in the scripts ConfigMap changes
    expect(() => planApply(before, scripts)).not.toThrow();
    expect(
      planApply(before, scripts).filter((c) => c.object.startsWith('Job/') && c.action === 'created'),
    ).toHaveLength(1);
    expect(planApply(before, manifestSet({})).every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('names are <prefix>-<8 hex>, found by label, and short enough for the job-name pod label (63)', () => {
    const longest = jobs({ name: 'a'.repeat(30), shards: 1000, retiringShards: 1000, replicasPerShard: 5 });
    for (const job of longest) expect(job.metadata.name.length).toBeLessThanOrEqual(63);
    const [topology] = byComponent(jobs({ shards: 4 }), 'topology');
    expect(topology?.metadata.name).toMatch(/^rc-topology-[0-9a-f]{8}$/);
    expect(topology?.metadata.labels['slotforge.io/topology']).toBe('4x2');
    const [auth] = byComponent(jobs({}), 'auth');
    expect(auth?.metadata.name).toMatch(/^rc-auth-gen-[0-9a-f]{8}$/);
    expect(byComponent(jobs({ shards: 4 }), 'topology')[0]?.metadata.name).not.toBe(
      byComponent(jobs({ shards: 3 }), 'topology')[0]?.metadata.name,
    );
  });
});
