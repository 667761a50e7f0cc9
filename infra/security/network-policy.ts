import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { check } from '../errors.ts';

/** Client pods of other namespaces that may reach the Redis port. */
export interface ClientNamespacePeer {
  /** Labels of the namespaces, e.g. `{ 'kubernetes.io/metadata.name': 'shop' }` (set by Kubernetes on every namespace). */
  readonly namespaceLabels: Record<string, string>;
  /**
   * Labels the client pods in those namespaces must carry (namespace AND pod selector in one peer).
   * @default the deployment's clientPodLabels
   */
  readonly podLabels?: Record<string, string>;
}

/** Who may reach the members. */
export interface NetworkPolicyOptions {
  /**
   * Labels a client pod must carry to reach the Redis port.
   * @default { 'slotforge.io/client': '<name>' }
   */
  readonly clientPodLabels?: Record<string, string>;
  /**
   * Namespaces whose pods may scrape the exporter port.
   * @default { 'kubernetes.io/metadata.name': 'monitoring' }
   */
  readonly metricsNamespaceLabels?: Record<string, string>;
  /**
   * Client pods of other namespaces: each entry admits the pods matching its pod labels in the namespaces matching its
   * namespace labels. Without it only client pods of the deployment's own namespace are admitted.
   * @default none
   */
  readonly clientNamespaces?: readonly ClientNamespacePeer[];
}

// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters; a value: at most 63.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const validLabelKey = (key: string) => {
  const slash = key.lastIndexOf('/');
  return slash < 0
    ? LABEL_NAME.test(key)
    : LABEL_PREFIX.test(key.slice(0, slash)) && LABEL_NAME.test(key.slice(slash + 1));
};
const validLabelValue = (value: unknown) => value === '' || (typeof value === 'string' && LABEL_NAME.test(value));

/** Checks a label selector given as a prop: non-empty (an empty one selects everything) and valid keys and values. */
function checkSelector(owner: string, field: string, labels: unknown): Record<string, string> {
  check(
    typeof labels === 'object' && labels !== null && Object.keys(labels).length > 0,
    owner,
    field,
    'must name at least one label (an empty selector admits every pod or namespace)',
    labels,
  );
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    check(
      validLabelKey(key),
      owner,
      `${field}['${key}']`,
      'must be a label key ([prefix/]name, name at most 63 characters)',
      key,
    );
    check(
      validLabelValue(value),
      owner,
      `${field}['${key}']`,
      'must be a label value (at most 63 of A-Z a-z 0-9 - _ ., starting and ending alphanumeric)',
      value,
    );
  }
  return labels as Record<string, string>;
}

/** The NetworkPolicy options validated, defaults resolved. @internal */
export function resolveNetworkPolicyOptions(owner: string, name: string, options: NetworkPolicyOptions = {}) {
  const clientPodLabels = checkSelector(
    owner,
    'networkPolicy.clientPodLabels',
    options.clientPodLabels ?? { 'slotforge.io/client': name },
  );
  const metricsNamespaceLabels = checkSelector(
    owner,
    'networkPolicy.metricsNamespaceLabels',
    options.metricsNamespaceLabels ?? { 'kubernetes.io/metadata.name': 'monitoring' },
  );
  const peers = options.clientNamespaces ?? [];
  check(Array.isArray(peers), owner, 'networkPolicy.clientNamespaces', 'must be a list', peers);
  const clientNamespaces = peers.map((peer, i) => ({
    namespaceLabels: checkSelector(
      owner,
      `networkPolicy.clientNamespaces[${i}].namespaceLabels`,
      peer?.namespaceLabels,
    ),
    podLabels:
      peer.podLabels === undefined
        ? clientPodLabels
        : checkSelector(owner, `networkPolicy.clientNamespaces[${i}].podLabels`, peer.podLabels),
  }));
  return { clientPodLabels, metricsNamespaceLabels, clientNamespaces };
}

export interface RedisNetworkPolicyProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Selects the members. */
  readonly memberSelector: Record<string, string>;
  /** Selects the pods of the deployment (members and Jobs); {@link peerComponents} narrows it. */
  readonly peerSelector: Record<string, string>;
  /**
   * The `app.kubernetes.io/component` values of the deployment's pods that may use both ports: the members and the
   * Jobs that talk to them (the topology Job), not the auth Job, which only talks to the API server.
   */
  readonly peerComponents: readonly string[];
  readonly clientPodLabels: Record<string, string>;
  /** Client pods of other namespaces (namespace AND pod selector per entry). */
  readonly clientNamespaces?: ReadonlyArray<Required<ClientNamespacePeer>>;
  readonly metricsNamespaceLabels: Record<string, string>;
  readonly redisPort: number;
  /** Cluster bus (or Sentinel) port; absent when there is none. */
  readonly busPort?: number;
  /** The exporter port; no metrics rule when absent (no exporter on the selected pods). */
  readonly metricsPort?: number;
}

/**
 * Ingress policy of the members: clients carrying the client labels reach the Redis port; the deployment's own pods
 * of the peer components (members, the topology Job) reach the Redis and bus ports; the monitoring namespaces reach
 * the exporter when there is one; with
 * `clientNamespaces`, client pods of other namespaces reach the Redis port. Everything else is dropped by a CNI that
 * enforces NetworkPolicy: kind does by default since v0.24 (kindnet with kube-network-policies), as do Calico and
 * Cilium.
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
export function redisNetworkPolicy(
  scope: Construct,
  id: string,
  props: RedisNetworkPolicyProps,
): k8s.KubeNetworkPolicy {
  const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
  return new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: props.name, labels: props.labels },
    spec: {
      podSelector: { matchLabels: props.memberSelector },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: props.clientPodLabels } },
            // One peer with both selectors: pods matching podLabels in namespaces matching namespaceLabels (AND).
            ...(props.clientNamespaces ?? []).map((peer) => ({
              namespaceSelector: { matchLabels: peer.namespaceLabels },
              podSelector: { matchLabels: peer.podLabels },
            })),
          ],
          ports: [tcp(props.redisPort)],
        },
        {
          from: [
            {
              podSelector: {
                matchLabels: props.peerSelector,
                matchExpressions: [
                  { key: 'app.kubernetes.io/component', operator: 'In', values: [...props.peerComponents] },
                ],
              },
            },
          ],
          ports: [tcp(props.redisPort), ...(props.busPort === undefined ? [] : [tcp(props.busPort)])],
        },
        ...(props.metricsPort === undefined
          ? []
          : [
              {
                from: [{ namespaceSelector: { matchLabels: props.metricsNamespaceLabels } }],
                ports: [tcp(props.metricsPort)],
              },
            ]),
      ],
    },
  });
}
