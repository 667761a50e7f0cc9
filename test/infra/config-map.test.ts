import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { RedisSentinel, type RedisSentinelProps } from '../../infra/index.ts';
import { type Manifest, synthCluster } from './support/synth.ts';

// The scripts ConfigMap is named after the hash of its data and immutable (issue 14 review: an update of a
// ConfigMap that pods mount never rolled them). A change of any file is a new name in every pod template, so the
// StatefulSets roll and the topology Job is a new one; the same props give the same name.

function synthSentinel(props: RedisSentinelProps = {}): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
  new RedisSentinel(chart, 'rs', props);
  return Testing.synth(chart) as Manifest[];
}

const scriptsConfigMap = (objects: readonly Manifest[]): Manifest => {
  const maps = objects.filter((o) => o.kind === 'ConfigMap' && o.data?.['lib.sh'] !== undefined);
  expect(maps).toHaveLength(1);
  return maps[0] as Manifest;
};

/** Names of the ConfigMaps each pod template (StatefulSets and Jobs) mounts as `scripts`. */
function mountedScripts(objects: readonly Manifest[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of objects.filter((x) => x.kind === 'StatefulSet' || x.kind === 'Job')) {
    const volume = o.spec.template.spec.volumes.find((v: Manifest) => v.name === 'scripts');
    if (volume) out.set(`${o.kind}/${o.metadata.name}`, volume.configMap.name);
  }
  return out;
}

describe('the scripts ConfigMap is content-named and immutable', () => {
  for (const [kind, synth, change] of [
    ['RedisCluster', synthCluster, { config: { hz: 20 } }],
    ['RedisSentinel', synthSentinel, { config: { hz: 20 } }],
  ] as const) {
    it(`${kind}: immutable, named <name>-config-<hash of its data>, mounted by that name by every pod template`, () => {
      const objects = synth();
      const cm = scriptsConfigMap(objects);
      expect(cm.immutable).toBe(true);
      expect(cm.metadata.name).toMatch(/^r[cs]-config-[0-9a-f]{10}$/);
      const mounts = mountedScripts(objects);
      expect(mounts.size).toBeGreaterThanOrEqual(kind === 'RedisCluster' ? 4 : 2);
      for (const name of mounts.values()) expect(name).toBe(cm.metadata.name);
      // Deterministic: the same props give the same name (a re-apply changes nothing).
      expect(scriptsConfigMap(synth()).metadata.name).toBe(cm.metadata.name);
    });

    it(`${kind}: a changed redis.conf is a new ConfigMap name in every pod template, so every StatefulSet rolls`, () => {
      const before = synth();
      const after = synth(change);
      const [a, b] = [scriptsConfigMap(before), scriptsConfigMap(after)];
      expect(b.data['redis.conf']).not.toBe(a.data['redis.conf']);
      expect(b.metadata.name).not.toBe(a.metadata.name);
      for (const name of mountedScripts(after).values()) expect(name).toBe(b.metadata.name);
      const templates = (objects: readonly Manifest[]) =>
        new Map(
          objects
            .filter((o) => o.kind === 'StatefulSet')
            .map((o) => [o.metadata.name, JSON.stringify(o.spec.template)]),
        );
      const [t0, t1] = [templates(before), templates(after)];
      expect([...t1.keys()]).toEqual([...t0.keys()]);
      for (const [name, template] of t1) expect(template, name).not.toBe(t0.get(name));
    });
  }

  it('the name follows the data only: a prop that reaches the pods through env keeps it, a profile change renames it', () => {
    const a = scriptsConfigMap(synthCluster());
    const b = scriptsConfigMap(synthCluster({ scriptTimeouts: { redisCliSeconds: 4 } }));
    // redisCliSeconds reaches the pods through env, not the ConfigMap: same data, same name.
    expect(b.metadata.name).toBe(a.metadata.name);
    const c = scriptsConfigMap(synthCluster({ profile: 'cache' }));
    expect(c.metadata.name).not.toBe(a.metadata.name);
  });
});
