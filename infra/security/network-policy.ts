import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';

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
}

export interface RedisNetworkPolicyProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Selects the members. */
  readonly memberSelector: Record<string, string>;
  /** Selects every pod of the deployment (members and Jobs), which may use both ports. */
  readonly peerSelector: Record<string, string>;
  readonly clientPodLabels: Record<string, string>;
  readonly metricsNamespaceLabels: Record<string, string>;
  readonly redisPort: number;
  /** Cluster bus (or Sentinel) port; absent when there is none. */
  readonly busPort?: number;
  readonly metricsPort: number;
}

/**
 * Ingress policy of the members: clients carrying the client labels reach the Redis port; the deployment's own pods
 * (members and Jobs) reach the Redis and bus ports; the monitoring namespaces reach the exporter. Everything else is
 * dropped by a CNI that enforces NetworkPolicy (kind's default kindnet does not; Calico and Cilium do).
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
        { from: [{ podSelector: { matchLabels: props.clientPodLabels } }], ports: [tcp(props.redisPort)] },
        {
          from: [{ podSelector: { matchLabels: props.peerSelector } }],
          ports: [tcp(props.redisPort), ...(props.busPort === undefined ? [] : [tcp(props.busPort)])],
        },
        {
          from: [{ namespaceSelector: { matchLabels: props.metricsNamespaceLabels } }],
          ports: [tcp(props.metricsPort)],
        },
      ],
    },
  });
}
