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
