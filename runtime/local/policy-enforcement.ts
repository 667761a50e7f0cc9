import type { ManifestSet } from './manifests.ts';
import type { BridgeNetwork } from './network.ts';
import { NAMESPACE_NAME_LABEL, type PolicyPod, podFirewall, policyTypes, selectedPods } from './network-policy.ts';
import { renderFirewall } from './network-policy-nft.ts';
import type { Pod } from './pod.ts';

/** A NetworkPolicy the runtime enforces, and the pods it selects now. */
export interface NetworkPolicyReport {
  /** `namespace/name`. */
  readonly name: string;
  readonly policyTypes: ReadonlyArray<'Ingress' | 'Egress'>;
  readonly pods: string[];
}

/**
 * A pod that holds its network namespace and address: a completed or failed pod released them (as the kubelet
 * releases a finished pod's sandbox), so policies neither protect nor admit it.
 */
export function hasNetwork(pod: Pod): boolean {
  return pod.phase !== 'Deleted' && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** The NetworkPolicies of the live manifests, enforced as nft tables in the pod namespaces (see network-policy.ts). */
export class PolicyEnforcer {
  /** Per pod namespace, the NetworkPolicy table last installed ('' when none). */
  readonly #applied = new Map<string, string>();
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly network: BridgeNetwork,
    readonly manifests: ManifestSet,
    readonly pods: () => Pod[],
    readonly stopped: () => boolean,
    readonly event: (object: string, message: string) => void,
  ) {}

  /**
   * Recomputes the firewall of every pod that has an address and installs each table that changed, one atomic nft
   * transaction per pod namespace, in parallel. The runtime calls it whenever a pod gets or loses an address, a label
   * or a port, after an apply, and before a new pod's containers start, so a pod never runs unprotected and a new
   * peer's first connection is not dropped. Serialized; resolves once the state of the call is enforced.
   */
  enforce(): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      if (this.stopped()) return;
      const started = performance.now();
      const live = this.pods().filter((p) => p.net && hasNetwork(p));
      const peers: PolicyPod[] = live.map((p) => ({
        name: p.name,
        namespace: p.namespace,
        labels: p.labels,
        ip: p.net!.ip,
        ports: p.ports,
      }));
      const policies = [...this.manifests.networkPolicies.values()];
      const namespaceLabels = (ns: string) => ({
        ...(this.manifests.namespaces.get(ns)?.metadata.labels ?? {}),
        [NAMESPACE_NAME_LABEL]: ns,
      });
      const seen = new Set<string>();
      let updated = 0;
      await Promise.all(
        live.map(async (pod, i) => {
          const net = pod.net!;
          seen.add(net.netns);
          const firewall = podFirewall(peers[i]!, policies, peers, namespaceLabels);
          const script = renderFirewall(this.network.policyTable, firewall, this.network.hostIp) ?? '';
          if ((this.#applied.get(net.netns) ?? '') === script) return;
          try {
            await this.network.setPolicyTable(net, script || undefined);
            this.#applied.set(net.netns, script);
            updated++;
          } catch (error) {
            // A pod whose namespace went away meanwhile needs no rules.
            if (pod.net === net && !pod.terminating) {
              this.event(`pod/${pod.name}`, `could not apply NetworkPolicy rules: ${(error as Error).message}`);
            }
          }
        }),
      );
      for (const netns of [...this.#applied.keys()]) if (!seen.has(netns)) this.#applied.delete(netns);
      if (updated > 0) {
        const ms = (performance.now() - started).toFixed(1);
        this.event('runtime', `NetworkPolicy rules updated in ${updated} pod(s) in ${ms} ms`);
      }
    });
    return this.#chain;
  }

  /** The NetworkPolicies in force and the pods each selects now. */
  report(): NetworkPolicyReport[] {
    const pods = this.pods().filter(hasNetwork);
    return [...this.manifests.networkPolicies].map(([key, policy]) => ({
      name: key,
      policyTypes: policyTypes(policy),
      pods: selectedPods(policy, pods).map((p) => p.name),
    }));
  }
}
