import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { RedisSentinel } from '../../infra/index.ts';
import { type Manifest, objectsOfKind, synthCluster } from './support/synth.ts';
import { validateObject } from './support/validate.ts';

const policyOf = (objects: Manifest[]) => objectsOfKind(objects, 'NetworkPolicy')[0] as Manifest;
/** The peers admitted to the Redis port (the first ingress rule). */
const clientPeers = (objects: Manifest[]) => policyOf(objects).spec.ingress[0].from;

describe('NetworkPolicy: clients from other namespaces', () => {
  it('admits, per entry, the client pods of the namespaces it names (one peer: namespace AND pod selector)', () => {
    const objects = synthCluster({
      networkPolicy: {
        clientNamespaces: [
          { namespaceLabels: { 'kubernetes.io/metadata.name': 'shop' } },
          { namespaceLabels: { team: 'payments' }, podLabels: { app: 'checkout' } },
        ],
      },
    });
    validateObject(policyOf(objects));
    expect(clientPeers(objects)).toEqual([
      { podSelector: { matchLabels: { 'slotforge.io/client': 'rc' } } },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
        podSelector: { matchLabels: { 'slotforge.io/client': 'rc' } },
      },
      { namespaceSelector: { matchLabels: { team: 'payments' } }, podSelector: { matchLabels: { app: 'checkout' } } },
    ]);
    // Only the Redis port: the bus stays closed to clients of any namespace.
    expect(policyOf(objects).spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 6379 }]);
  });

  it('without it, only client pods of the own namespace', () => {
    expect(clientPeers(synthCluster())).toEqual([{ podSelector: { matchLabels: { 'slotforge.io/client': 'rc' } } }]);
  });

  it('refuses at synth an empty selector (it would admit every namespace) and invalid label keys or values', () => {
    expect(() => synthCluster({ networkPolicy: { clientNamespaces: [{ namespaceLabels: {} }] } })).toThrow(
      "RedisCluster 'rc': networkPolicy.clientNamespaces[0].namespaceLabels must name at least one label (an empty selector admits every pod or namespace) (got {})",
    );
    expect(() => synthCluster({ networkPolicy: { clientNamespaces: [{ namespaceLabels: { team: 'a b' } }] } })).toThrow(
      /networkPolicy.clientNamespaces\[0\].namespaceLabels\['team'\] must be a label value/,
    );
    expect(() =>
      synthCluster({
        networkPolicy: { clientNamespaces: [{ namespaceLabels: { team: 'x' }, podLabels: { 'bad key!': 'y' } }] },
      }),
    ).toThrow(/podLabels\['bad key!'\] must be a label key/);
    expect(() => synthCluster({ networkPolicy: { clientPodLabels: {} } })).toThrow(/networkPolicy.clientPodLabels/);
  });

  it('the RedisSentinel takes the same prop for its data and sentinel policies', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
    new RedisSentinel(chart, 'sessions', {
      networkPolicy: { clientNamespaces: [{ namespaceLabels: { 'kubernetes.io/metadata.name': 'web' } }] },
    });
    const policies = objectsOfKind(Testing.synth(chart) as Manifest[], 'NetworkPolicy');
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.spec.ingress[0].from[1].namespaceSelector.matchLabels).toEqual({
        'kubernetes.io/metadata.name': 'web',
      });
    }
  });
});

/** Whether a label selector (matchLabels AND matchExpressions In/NotIn/Exists/DoesNotExist) selects `labels`. */
function selects(selector: Manifest, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e: Manifest) => {
    const value = labels[e.key];
    if (e.operator === 'In') return value !== undefined && e.values.includes(value);
    if (e.operator === 'NotIn') return value === undefined || !e.values.includes(value);
    if (e.operator === 'Exists') return value !== undefined;
    return value === undefined;
  });
  return byLabel && byExpression;
}

/** `<kind>/<name>` of each pod template of the objects (StatefulSets and Jobs) and its labels. */
const podTemplates = (objects: readonly Manifest[]) =>
  objects
    .filter((o) => o.kind === 'StatefulSet' || o.kind === 'Job')
    .map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.metadata.labels as Record<string, string>] as const);

function synthSentinel(props: Record<string, unknown> = {}): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
  new RedisSentinel(chart, 'sessions', props);
  return Testing.synth(chart) as Manifest[];
}

describe('NetworkPolicy: peers and the exporter port (issue 14 review 3)', () => {
  it('the cluster admits the members and the topology Job to 6379 and the bus, not the auth Job', () => {
    const objects = synthCluster();
    const peerRule = policyOf(objects).spec.ingress[1];
    expect(peerRule.ports.map((p: Manifest) => p.port)).toEqual([6379, 16379]);
    const admitted = podTemplates(objects)
      .filter(([, labels]) => peerRule.from.some((peer: Manifest) => selects(peer.podSelector, labels)))
      .map(([name]) => name.replace(/-[0-9a-f]{8}$/, ''));
    expect(admitted.sort()).toEqual([
      'Job/rc-topology',
      'StatefulSet/rc-shard-0',
      'StatefulSet/rc-shard-1',
      'StatefulSet/rc-shard-2',
    ]);
    const auth = podTemplates(objects).find(([name]) => name.startsWith('Job/rc-auth-gen'));
    expect(auth?.[1]['app.kubernetes.io/component']).toBe('auth');
  });

  it('the Sentinel admits its data pods and sentinels to each other, not the auth Job', () => {
    const objects = synthSentinel();
    for (const policy of objectsOfKind(objects, 'NetworkPolicy')) {
      const admitted = podTemplates(objects)
        .filter(([, labels]) => policy.spec.ingress[1].from.some((p: Manifest) => selects(p.podSelector, labels)))
        .map(([name]) => name);
      expect(admitted.sort(), policy.metadata.name).toEqual([
        'StatefulSet/sessions-redis',
        'StatefulSet/sessions-sentinel',
      ]);
    }
  });

  it('opens the exporter port only where an exporter runs: members and data pods with metrics on, never sentinels', () => {
    const metricsPorts = (policy: Manifest) =>
      policy.spec.ingress
        .flatMap((r: Manifest) => r.ports.map((p: Manifest) => p.port))
        .filter((p: number) => p === 9121);
    expect(metricsPorts(policyOf(synthCluster()))).toEqual([9121]);
    expect(metricsPorts(policyOf(synthCluster({ metrics: { exporter: false } })))).toEqual([]);
    const byName = (objects: Manifest[]) =>
      Object.fromEntries(objectsOfKind(objects, 'NetworkPolicy').map((p) => [p.metadata.name, metricsPorts(p)]));
    expect(byName(synthSentinel())).toEqual({ 'sessions-redis': [9121], 'sessions-sentinel': [] });
    expect(byName(synthSentinel({ metrics: { exporter: false } }))).toEqual({
      'sessions-redis': [],
      'sessions-sentinel': [],
    });
    for (const policy of [...objectsOfKind(synthSentinel(), 'NetworkPolicy'), policyOf(synthCluster())]) {
      validateObject(policy);
    }
  });
});
