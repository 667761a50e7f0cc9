import { join } from 'node:path';
import {
  type DelayedRecords,
  type HostHostsBlock,
  type HostRecord,
  ownRecord,
  podNames,
  renderPodHosts,
  serviceNames,
  writeInPlace,
} from './dns.ts';
import { type ManifestSet, namespaceOf } from './manifests.ts';
import type { Pod } from './pod.ts';

function matches(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Where {@link ClusterDns} publishes. */
export interface ClusterDnsOptions {
  readonly manifests: ManifestSet;
  readonly pods: () => Pod[];
  /** The cluster DNS hosts file every pod mounts. */
  readonly hostsFile: string;
  /** Dir of pod incarnations (each has its own hosts file). */
  readonly podsDir: string;
  readonly delayed: DelayedRecords;
  /** The marked block in the host's /etc/hosts, when host DNS is on. */
  readonly hostBlock: HostHostsBlock | undefined;
  readonly stopped: () => boolean;
  readonly event: (object: string, message: string) => void;
}

/**
 * Cluster DNS as hosts files: the records of the Services and their pods, published to the pods and the host block
 * after the DNS delay (see {@link DelayedRecords}), as behind CoreDNS's cache.
 */
export class ClusterDns {
  #timer: NodeJS.Timeout | undefined;
  /** What clients see now. */
  #visible: HostRecord[] = [];
  #lastHosts = '';

  constructor(readonly options: ClusterDnsOptions) {}

  /**
   * The DNS records: a Service's names resolve to its ready endpoints (all selected pods with
   * publishNotReadyAddresses), and a pod behind a headless Service named by its subdomain gets
   * `pod.svc.ns.svc.cluster.local`.
   * @see https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
   */
  records(): HostRecord[] {
    const records: HostRecord[] = [];
    const pods = this.options.pods().filter((p) => p.ip && p.phase === 'Running' && !p.terminating);
    for (const [, service] of this.options.manifests.services) {
      const ns = namespaceOf(service);
      const spec = service.spec ?? {};
      const selected = pods.filter((p) => p.namespace === ns && matches(spec.selector, p.labels));
      const endpoints = selected.filter((p) => spec.publishNotReadyAddresses || p.ready);
      for (const pod of endpoints) {
        if (spec.clusterIP === 'None' && pod.subdomain === service.metadata.name) {
          records.push({ ip: pod.ip!, names: podNames(pod.spec.hostname ?? pod.name, service.metadata.name, ns) });
        }
      }
      for (const pod of endpoints) records.push({ ip: pod.ip!, names: serviceNames(service.metadata.name, ns) });
    }
    return records;
  }

  /** The DNS delay in force (ms). */
  get delayMs(): number {
    return this.options.delayed.delayMs;
  }

  /** How many names have a change on its way to clients. */
  get pending(): number {
    return this.options.delayed.pending;
  }

  /** Changes the DNS delay from now on (see {@link DelayedRecords.setDelay}) and publishes what that makes due. */
  setDelay(ms: number): void {
    this.options.delayed.setDelay(ms, Date.now());
    this.publish();
  }

  /** Publishes what is due now, and schedules the next publication when a change is still on its way. */
  publish(): void {
    const { delayed, hostsFile, hostBlock } = this.options;
    clearTimeout(this.#timer);
    const { visible, nextAt } = delayed.update(this.records(), Date.now());
    // A change still on its way: publish again when it comes due.
    if (nextAt !== undefined) {
      this.#timer = setTimeout(() => {
        if (!this.options.stopped()) this.publish();
      }, nextAt - Date.now());
    }
    const text = renderPodHosts(visible);
    if (text === this.#lastHosts) return;
    this.#lastHosts = text;
    this.#visible = visible;
    writeInPlace(hostsFile, text);
    for (const pod of this.options.pods()) if (pod.ip && !pod.terminating) this.writePodHosts(pod);
    try {
      hostBlock?.update(visible);
    } catch (error) {
      this.options.event('runtime', `could not update the host's /etc/hosts: ${(error as Error).message}`);
    }
  }

  /**
   * Writes a pod's own hosts file (its own name first, as the kubelet writes it, then what cluster DNS answers now)
   * and returns its path.
   */
  writePodHosts(pod: Pod): string {
    const path = join(this.options.podsDir, `${pod.name}-${pod.seq}`, 'hosts');
    const own = pod.ip ? [ownRecord(pod.ip, pod.spec.hostname ?? pod.name, pod.subdomain, pod.namespace)] : [];
    try {
      writeInPlace(path, renderPodHosts([...own, ...this.#visible]));
    } catch {
      // the pod's dir is being removed
    }
    return path;
  }

  /** The address `name` resolves to for clients of the runtime now (what the pods see, DNS delay included). */
  lookup(name: string): string | undefined {
    return this.#visible.find((r) => r.names.includes(name))?.ip;
  }

  /** Stops publishing (the runtime stops). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
