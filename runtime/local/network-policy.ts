import { LocalRuntimeError } from './errors.ts';
import type { ContainerPort, LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from './types.ts';

/**
 * NetworkPolicy as the API server validates it and as kube-network-policies (kind's enforcer since v0.24) evaluates
 * it, turned into one allow list per pod and direction. Pure: no I/O (the nft rules are rendered by
 * {@link renderFirewall} and installed by `BridgeNetwork.setTable`).
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 * @see https://github.com/kubernetes-sigs/kube-network-policies (pkg/networkpolicy/networkpolicy.go)
 */

/** The label the API server puts on every Namespace (Kubernetes 1.22+), so `namespaceSelector` can pick one by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What a policy needs to know of a pod. */
export interface PolicyPod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  /** The ports of its containers, for named ports. */
  readonly ports: readonly ContainerPort[];
}

/** A protocol and a port range; no `from` means every port of the protocol. */
export interface PortMatch {
  readonly protocol: Protocol;
  readonly from?: number;
  readonly to?: number;
}

/** Who a rule admits: anyone, a list of pod addresses, or an IP block minus its exceptions. */
export type PeerMatch =
  | { readonly any: true }
  | { readonly ips: readonly string[] }
  | { readonly cidr: string; readonly except: readonly string[] };

/** One allowed flow: from (ingress) or to (egress) these peers, on these ports. */
export interface AllowRule {
  readonly peers: PeerMatch;
  /** `any`: every protocol and port. */
  readonly ports: 'any' | readonly PortMatch[];
}

/**
 * The firewall of one pod: per direction, absent when no policy of that type selects the pod (it is not isolated),
 * else the union of the rules of every policy that does (empty: nothing is admitted).
 */
export interface PodFirewall {
  readonly ingress?: readonly AllowRule[];
  readonly egress?: readonly AllowRule[];
  /** The policies (`ns/name`) that select the pod. */
  readonly policies: readonly string[];
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
type Protocol = (typeof PROTOCOLS)[number];
/** IANA_SVC_NAME, as the API server checks named ports. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function fail(where: string, field: string, value: unknown, rule: string): never {
  throw new LocalRuntimeError(
    'E_MANIFEST',
    `${where}: ${field}: Invalid value: ${JSON.stringify(value)}: ${rule} (the API server refuses it)`,
  );
}

/** Parses an IPv4 CIDR (or a plain address as /32) into a network number and a prefix length; undefined if invalid. */
export function parseCidr(text: string): { net: number; bits: number } | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const bits = match[5] === undefined ? 32 : Number(match[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { net: address - (address % size), bits };
}

/** True when `ip` lies in `cidr` (IPv4). */
export function inCidr(ip: string, cidr: string): boolean {
  const block = parseCidr(cidr);
  const address = parseCidr(ip);
  if (!block || !address) return false;
  return address.net - (address.net % 2 ** (32 - block.bits)) === block.net;
}

function validateSelector(selector: LabelSelector | undefined, where: string, field: string): void {
  for (const [i, e] of (selector?.matchExpressions ?? []).entries()) {
    const at = `${field}.matchExpressions[${i}]`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) {
      fail(where, `${at}.operator`, e.operator, 'must be one of In, NotIn, Exists, DoesNotExist');
    }
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      fail(where, `${at}.values`, values, `must be specified when operator is ${e.operator}`);
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      fail(where, `${at}.values`, values, `may not be specified when operator is ${e.operator}`);
    }
  }
}

function validatePorts(ports: readonly NetworkPolicyPort[] | undefined, where: string, field: string): void {
  for (const [i, p] of (ports ?? []).entries()) {
    const at = `${field}[${i}]`;
    if (p.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(p.protocol)) {
      fail(where, `${at}.protocol`, p.protocol, 'supported values: "SCTP", "TCP", "UDP"');
    }
    if (typeof p.port === 'number' && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)) {
      fail(where, `${at}.port`, p.port, 'must be between 1 and 65535, inclusive');
    }
    if (typeof p.port === 'string' && !PORT_NAME.test(p.port)) {
      fail(where, `${at}.port`, p.port, 'must be a port name of at most 15 lowercase letters, digits and dashes');
    }
    if (p.endPort !== undefined) {
      if (typeof p.port !== 'number') {
        fail(where, `${at}.endPort`, p.endPort, 'may not be specified when port is not a number');
      }
      if (!Number.isInteger(p.endPort) || p.endPort < p.port || p.endPort > 65535) {
        fail(where, `${at}.endPort`, p.endPort, `must be a port from port (${p.port}) to 65535`);
      }
    }
  }
}

function validatePeers(peers: readonly NetworkPolicyPeer[] | undefined, where: string, field: string): void {
  for (const [i, peer] of (peers ?? []).entries()) {
    const at = `${field}[${i}]`;
    const selectors = Number(peer.podSelector !== undefined) + Number(peer.namespaceSelector !== undefined);
    if (selectors === 0 && !peer.ipBlock) fail(where, at, peer, 'must specify a peer');
    if (peer.ipBlock && selectors > 0) fail(where, at, peer, 'may not specify both ipBlock and another peer');
    validateSelector(peer.podSelector, where, `${at}.podSelector`);
    validateSelector(peer.namespaceSelector, where, `${at}.namespaceSelector`);
    if (!peer.ipBlock) continue;
    const block = parseCidr(peer.ipBlock.cidr ?? '');
    if (!block || !peer.ipBlock.cidr.includes('/')) {
      fail(where, `${at}.ipBlock.cidr`, peer.ipBlock.cidr, 'must be a valid CIDR (IPv4 here, e.g. 10.0.0.0/16)');
    }
    for (const [j, except] of (peer.ipBlock.except ?? []).entries()) {
      const inner = parseCidr(except);
      if (!inner || inner.bits <= block.bits || !inCidr(except.split('/')[0]!, peer.ipBlock.cidr)) {
        fail(where, `${at}.ipBlock.except[${j}]`, except, `must be a strict subset of cidr ${peer.ipBlock.cidr}`);
      }
    }
  }
}

/** Refuses, naming the field and the rule, a NetworkPolicy the API server would refuse. */
export function validateNetworkPolicy(policy: NetworkPolicy, where: string): void {
  const spec = policy.spec ?? {};
  validateSelector(spec.podSelector, where, 'spec.podSelector');
  const types = spec.policyTypes ?? [];
  for (const [i, type] of types.entries()) {
    if (type !== 'Ingress' && type !== 'Egress') {
      fail(where, `spec.policyTypes[${i}]`, type, 'supported values: "Egress", "Ingress"');
    }
  }
  if (new Set(types).size !== types.length) fail(where, 'spec.policyTypes', types, 'may not hold a type twice');
  for (const [i, rule] of (spec.ingress ?? []).entries()) {
    validatePorts(rule.ports, where, `spec.ingress[${i}].ports`);
    validatePeers(rule.from, where, `spec.ingress[${i}].from`);
  }
  for (const [i, rule] of (spec.egress ?? []).entries()) {
    validatePorts(rule.ports, where, `spec.egress[${i}].ports`);
    validatePeers(rule.to, where, `spec.egress[${i}].to`);
  }
}

/** The policy types in force: as given, or as the API server defaults them (Ingress, plus Egress with egress rules). */
export function policyTypes(policy: NetworkPolicy): ReadonlyArray<'Ingress' | 'Egress'> {
  const spec = policy.spec ?? {};
  if (spec.policyTypes && spec.policyTypes.length > 0) return spec.policyTypes;
  return (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Label selector semantics: every pair and expression holds; an empty (or absent) selector selects everything. */
export function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value!)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value!)
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** Where a policy applies: its namespace's pods its podSelector selects. */
export function selectedPods<P extends Pick<PolicyPod, 'namespace' | 'labels'>>(
  policy: NetworkPolicy,
  pods: readonly P[],
): P[] {
  const namespace = policy.metadata.namespace ?? 'default';
  return pods.filter((p) => p.namespace === namespace && selects(policy.spec?.podSelector, p.labels));
}

/** The labels of a namespace: those of its Namespace object, plus {@link NAMESPACE_NAME_LABEL}. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>>;

/** The pods a selector peer names: podSelector alone is the policy's namespace, namespaceSelector picks others. */
function peerPods(
  peer: NetworkPolicyPeer,
  policyNamespace: string,
  pods: readonly PolicyPod[],
  namespaceLabels: NamespaceLabels,
): PolicyPod[] {
  return pods.filter((p) => {
    if (peer.podSelector !== undefined && !selects(peer.podSelector, p.labels)) return false;
    if (peer.namespaceSelector === undefined) return p.namespace === policyNamespace;
    return selects(peer.namespaceSelector, namespaceLabels(p.namespace));
  });
}

/**
 * The port matches of a rule's `ports` against the pod that owns the port (the destination): a named port is the
 * container port of that name and protocol, and matches nothing on a pod without one (as kube-network-policies).
 */
function portMatches(ports: readonly NetworkPolicyPort[] | undefined, owner: PolicyPod | undefined) {
  if (!ports || ports.length === 0) return 'any' as const;
  const out: PortMatch[] = [];
  for (const p of ports) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    if (p.port === undefined) out.push({ protocol });
    else if (typeof p.port === 'number') out.push({ protocol, from: p.port, to: p.endPort ?? p.port });
    else {
      const named = owner?.ports.find((c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol);
      if (named) out.push({ protocol, from: named.containerPort, to: named.containerPort });
    }
  }
  return out;
}

const hasNamedPort = (ports: readonly NetworkPolicyPort[] | undefined) =>
  (ports ?? []).some((p) => typeof p.port === 'string');

/** The allow rules of one ingress or egress rule of a policy, for `pod`. */
function rulesOf(
  direction: 'ingress' | 'egress',
  peers: readonly NetworkPolicyPeer[] | undefined,
  ports: readonly NetworkPolicyPort[] | undefined,
  pod: PolicyPod,
  policyNamespace: string,
  pods: readonly PolicyPod[],
  namespaceLabels: NamespaceLabels,
): AllowRule[] {
  const out: AllowRule[] = [];
  const push = (rule: AllowRule) => {
    if (rule.ports !== 'any' && rule.ports.length === 0) return;
    if ('ips' in rule.peers && rule.peers.ips.length === 0) return;
    out.push(rule);
  };
  // Ingress: the ports are the pod's own. Egress with a named port: resolved per destination pod.
  if (direction === 'ingress' || !hasNamedPort(ports)) {
    const matches = portMatches(ports, direction === 'ingress' ? pod : undefined);
    if (!peers || peers.length === 0) push({ peers: { any: true }, ports: matches });
    for (const peer of peers ?? []) {
      if (peer.ipBlock) push({ peers: { cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] }, ports: matches });
      else
        push({
          peers: { ips: peerPods(peer, policyNamespace, pods, namespaceLabels).map((p) => p.ip) },
          ports: matches,
        });
    }
    return out;
  }
  const destinations = new Set<PolicyPod>();
  for (const peer of peers && peers.length > 0 ? peers : [{ namespaceSelector: {} }]) {
    const found = peer.ipBlock
      ? pods.filter(
          (p) => inCidr(p.ip, peer.ipBlock!.cidr) && !(peer.ipBlock!.except ?? []).some((e) => inCidr(p.ip, e)),
        )
      : peerPods(peer, policyNamespace, pods, namespaceLabels);
    for (const p of found) destinations.add(p);
  }
  for (const destination of destinations)
    push({ peers: { ips: [destination.ip] }, ports: portMatches(ports, destination) });
  return out;
}

/**
 * The firewall of `pod` under `policies` (all of them; those of other namespaces select nothing here): isolated for a
 * direction when a policy of that type selects it, admitting the union of those policies' rules.
 */
export function podFirewall(
  pod: PolicyPod,
  policies: readonly NetworkPolicy[],
  pods: readonly PolicyPod[],
  namespaceLabels: NamespaceLabels,
): PodFirewall {
  let ingress: AllowRule[] | undefined;
  let egress: AllowRule[] | undefined;
  const names: string[] = [];
  for (const policy of policies) {
    if (selectedPods(policy, [pod]).length === 0) continue;
    const namespace = policy.metadata.namespace ?? 'default';
    names.push(`${namespace}/${policy.metadata.name}`);
    const types = policyTypes(policy);
    if (types.includes('Ingress')) {
      ingress ??= [];
      for (const rule of policy.spec?.ingress ?? []) {
        ingress.push(...rulesOf('ingress', rule.from, rule.ports, pod, namespace, pods, namespaceLabels));
      }
    }
    if (types.includes('Egress')) {
      egress ??= [];
      for (const rule of policy.spec?.egress ?? []) {
        egress.push(...rulesOf('egress', rule.to, rule.ports, pod, namespace, pods, namespaceLabels));
      }
    }
  }
  return { ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}), policies: names };
}
