import { describe, expect, it } from 'vitest';
import type { NetworkPolicy } from '../../../runtime/local/index.ts';
import {
  addObject,
  emptyManifestSet,
  LocalRuntimeError,
  NAMESPACE_NAME_LABEL,
  type PolicyPod,
  planApply,
  podFirewall,
  renderFirewall,
} from '../../../runtime/local/index.ts';

const pod = (name: string, namespace: string, ip: string, labels: Record<string, string> = {}, ports = {}) =>
  ({
    name,
    namespace,
    ip,
    labels,
    ports: Object.entries(ports).map(([n, p]) => ({ name: n, containerPort: p })),
  }) as PolicyPod;

const db = pod('db-0', 'shop', '10.1.0.2', { app: 'db' }, { redis: 6379, bus: 16379 });
const web = pod('web-0', 'shop', '10.1.0.3', { app: 'web' });
const other = pod('web-0', 'blog', '10.1.0.4', { app: 'web' }, { redis: 7000 });
const monitor = pod('prom-0', 'monitoring', '10.1.0.5', { app: 'prometheus' });
const pods = [db, web, other, monitor];
const namespaceLabels = (ns: string) => ({ [NAMESPACE_NAME_LABEL]: ns, ...(ns === 'blog' ? { team: 'blog' } : {}) });

function policy(spec: NetworkPolicy['spec'], namespace = 'shop', name = 'p'): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const firewall = (target: PolicyPod, ...policies: NetworkPolicy[]) =>
  podFirewall(target, policies, pods, namespaceLabels);

describe('NetworkPolicy semantics (kube-network-policies)', () => {
  it('leaves a pod no policy selects open in both directions', () => {
    const fw = firewall(web, policy({ podSelector: { matchLabels: { app: 'db' } } }));
    expect(fw).toEqual({ policies: [] });
    expect(renderFirewall('t', fw, '10.1.0.1')).toBeUndefined();
  });

  it('isolates a selected pod for Ingress only by default, and an empty ingress admits nothing', () => {
    const fw = firewall(db, policy({ podSelector: {} }));
    expect(fw).toEqual({ ingress: [], policies: ['shop/p'] });
    const nft = renderFirewall('t', fw, '10.1.0.1')!;
    expect(nft).toContain('hook input');
    expect(nft).not.toContain('hook output');
    // Replies, loopback and the host (kubelet probes) pass; everything else is dropped.
    expect(nft).toMatch(/ct state established,related accept\n {4}ip saddr 10\.1\.0\.1 accept\n {4}counter drop/);
  });

  it('defaults policyTypes to Ingress and Egress when egress rules are given', () => {
    const fw = firewall(db, policy({ podSelector: {}, egress: [{ to: [{ podSelector: {} }] }] }));
    expect(fw.ingress).toEqual([]);
    expect(fw.egress).toEqual([{ peers: { ips: ['10.1.0.2', '10.1.0.3'] }, ports: 'any' }]);
  });

  it('admits the union of every policy that selects the pod', () => {
    const a = policy(
      {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
      },
      'shop',
      'a',
    );
    const b = policy(
      {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'monitoring' } } }] }],
      },
      'shop',
      'b',
    );
    const fw = firewall(db, a, b);
    expect(fw.policies).toEqual(['shop/a', 'shop/b']);
    expect(fw.ingress).toEqual([
      { peers: { ips: ['10.1.0.3'] }, ports: 'any' },
      { peers: { ips: ['10.1.0.5'] }, ports: 'any' },
    ]);
  });

  it('reads a podSelector alone in the policy namespace, and podSelector+namespaceSelector across namespaces', () => {
    const sameNs = policy({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    expect(firewall(db, sameNs).ingress).toEqual([{ peers: { ips: ['10.1.0.3'] }, ports: 'any' }]);
    const both = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'blog' } }, podSelector: { matchLabels: { app: 'web' } } },
          ],
        },
      ],
    });
    expect(firewall(db, both).ingress).toEqual([{ peers: { ips: ['10.1.0.4'] }, ports: 'any' }]);
    const expressions = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: {},
              podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db', 'prometheus'] }] },
            },
          ],
        },
      ],
    });
    expect(firewall(db, expressions).ingress).toEqual([{ peers: { ips: ['10.1.0.3', '10.1.0.4'] }, ports: 'any' }]);
  });

  it('matches numbered, named and ranged ports, per protocol, on the destination pod', () => {
    const p = policy({
      podSelector: {},
      ingress: [
        {
          from: [{ podSelector: {} }],
          ports: [{ port: 'redis' }, { port: 'nope' }, { port: 8000, endPort: 8010 }, { protocol: 'UDP' }],
        },
      ],
      egress: [{ ports: [{ port: 'redis' }] }],
    });
    const fw = firewall(db, p);
    expect(fw.ingress).toEqual([
      {
        peers: { ips: ['10.1.0.2', '10.1.0.3'] },
        ports: [
          { protocol: 'TCP', from: 6379, to: 6379 },
          { protocol: 'TCP', from: 8000, to: 8010 },
          { protocol: 'UDP' },
        ],
      },
    ]);
    // Egress: `redis` is 6379 on db-0 and 7000 on blog's web-0; pods without the name are not reachable by it.
    expect(fw.egress).toEqual([
      { peers: { ips: ['10.1.0.2'] }, ports: [{ protocol: 'TCP', from: 6379, to: 6379 }] },
      { peers: { ips: ['10.1.0.4'] }, ports: [{ protocol: 'TCP', from: 7000, to: 7000 }] },
    ]);
    const nft = renderFirewall('t', fw, '10.1.0.1')!;
    expect(nft).toContain('ip saddr { 10.1.0.2, 10.1.0.3 } meta l4proto tcp th dport { 6379, 8000-8010 } accept');
    expect(nft).toContain('ip saddr { 10.1.0.2, 10.1.0.3 } meta l4proto udp accept');
    expect(nft).toContain('ip daddr { 10.1.0.4 } meta l4proto tcp th dport { 7000 } accept');
  });

  it('renders an ipBlock with its exceptions and an empty rule as allow-all', () => {
    const p = policy({
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/24'] } }] }, {}],
    });
    const nft = renderFirewall('t', firewall(db, p), '10.1.0.1')!;
    expect(nft).toContain('ip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0/24 } accept');
    expect(nft).toMatch(/\n {4}accept\n {4}counter drop/);
  });
});

describe('NetworkPolicy admission (what the API server refuses)', () => {
  const refused = (spec: unknown) => {
    try {
      addObject(emptyManifestSet(), policy(spec as NetworkPolicy['spec']), 'np.yaml document 0');
    } catch (error) {
      expect(error).toBeInstanceOf(LocalRuntimeError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('names the field, the value and the rule', () => {
    expect(refused({ podSelector: {}, policyTypes: ['Inbound'] })).toMatch(
      /spec\.policyTypes\[0\]: Invalid value: "Inbound"/,
    );
    expect(refused({ podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] })).toMatch(
      /spec\.ingress\[0\]\.ports\[0\]\.protocol/,
    );
    expect(refused({ podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] })).toMatch(/between 1 and 65535/);
    expect(refused({ podSelector: {}, ingress: [{ ports: [{ port: 'redis', endPort: 7000 }] }] })).toMatch(
      /endPort.*not a number/,
    );
    expect(refused({ podSelector: {}, egress: [{ ports: [{ port: 8000, endPort: 7000 }] }] })).toMatch(
      /spec\.egress\[0\]\.ports\[0\]\.endPort/,
    );
    expect(refused({ podSelector: {}, ingress: [{ from: [{}] }] })).toMatch(/from\[0\].*must specify a peer/);
    expect(
      refused({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }),
    ).toMatch(/both ipBlock and another peer/);
    expect(refused({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })).toMatch(
      /ipBlock\.cidr/,
    );
    expect(
      refused({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] }),
    ).toMatch(/except\[0\].*strict subset/);
    expect(refused({ podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })).toMatch(
      /spec\.podSelector\.matchExpressions\[0\]\.values/,
    );
  });

  it('keeps NetworkPolicies on apply --prune, as kubectl default prune allowlist does', () => {
    const live = emptyManifestSet();
    addObject(live, policy({ podSelector: {} }), 'a');
    expect(planApply(live, emptyManifestSet(), { prune: true })).toEqual([
      { object: 'NetworkPolicy/shop/p', action: 'kept' },
    ]);
  });

  it('prunes only the kinds of a prune allowlist, and refuses an entry it cannot prune', () => {
    const live = emptyManifestSet();
    addObject(live, policy({ podSelector: {} }), 'a');
    addObject(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' } }, 'b');
    const allowlist = ['networking.k8s.io/v1/NetworkPolicy'];
    expect(planApply(live, emptyManifestSet(), { prune: true, pruneAllowlist: allowlist })).toEqual([
      { object: 'ConfigMap/shop/c', action: 'kept' },
      { object: 'NetworkPolicy/shop/p', action: 'pruned' },
    ]);
    expect(() => planApply(live, emptyManifestSet(), { pruneAllowlist: allowlist })).toThrow(/needs prune/);
    expect(() => planApply(live, emptyManifestSet(), { prune: true, pruneAllowlist: ['v1/Namespace'] })).toThrow(
      /'v1\/Namespace' is not a kind the runtime prunes; use group\/version\/Kind, one of core\/v1\/ConfigMap/,
    );
  });
});
