import { existsSync } from 'node:fs';

/** Options of `kubernetesTarget` (chaos/targets/kubernetes.ts). */
export interface KubernetesTargetOptions {
  /**
   * Kubeconfig file. When absent: `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account (the CLI
   * running as a Job), as `kubectl` resolves it.
   */
  readonly kubeconfig?: string;
  /** Context of the kubeconfig to use. @default the kubeconfig's current context */
  readonly context?: string;
  /** Namespace of the RedisCluster. @default 'slotforge' */
  readonly namespace?: string;
  /**
   * Label selector of the cluster members (the chart's `memberLabels`, infra/redis-cluster.ts).
   * @default 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/component=member'
   */
  readonly labelSelector?: string;
  /** Container of a member that runs redis-server. @default 'redis' */
  readonly container?: string;
  /** Headless Service whose names the pods get (`pod.<service>.<namespace>.svc.<clusterDomain>`). @default 'redis-headless' */
  readonly headlessService?: string;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Secret holding the ACL users' passwords (key `app` for the workloads). @default 'redis-auth' */
  readonly authSecret?: string;
  /**
   * Where the workloads connect, as `host:port` strings (`--seeds`). Without them the workloads use the pods' DNS
   * names, which resolve only inside the cluster (the CLI running as a Job).
   */
  readonly seeds?: readonly string[];
  /**
   * Image of the per-node signal pod (hostPID, privileged) that delivers SIGKILL/SIGSTOP/SIGCONT to redis-server;
   * it needs `sh`, `grep`, `sed` and `kill`.
   * @default 'busybox:1.36'
   */
  readonly signalImage?: string;
}

/** The options with every default applied. */
export interface ResolvedKubernetesOptions {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly namespace: string;
  readonly labelSelector: string;
  readonly container: string;
  readonly headlessService: string;
  readonly clusterDomain: string;
  readonly authSecret: string;
  readonly seeds: ReadonlyArray<{ host: string; port: number }> | undefined;
  readonly signalImage: string;
}

/** The chart's member labels (infra/redis-cluster.ts `memberLabels`), without the instance name. */
export const DEFAULT_MEMBER_SELECTOR = 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/component=member';

/** Codes of {@link KubernetesTargetError}. */
export type KubernetesTargetErrorCode = 'E_INVALID_OPTION' | 'E_CHAOS_MESH_MISSING' | 'E_KUBERNETES';

/** Every error of the Kubernetes target: a code, the option or object concerned, and the original error as `cause`. */
export class KubernetesTargetError extends Error {
  constructor(
    readonly code: KubernetesTargetErrorCode,
    message: string,
    readonly facts: { readonly option?: string; readonly received?: unknown; readonly object?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(`kubernetes target: ${message}`, options);
    this.name = 'KubernetesTargetError';
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function invalid(option: string, rule: string, received: unknown): KubernetesTargetError {
  return new KubernetesTargetError('E_INVALID_OPTION', `${option} ${rule} (got ${JSON.stringify(received)})`, {
    option,
    received,
  });
}

/** Parses `host:port` seeds (`--seeds a:6379,b:6379`); the error names the seed and the rule. */
export function parseSeeds(raw: string | readonly string[]): Array<{ host: string; port: number }> {
  const items = (typeof raw === 'string' ? raw.split(',') : raw).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw invalid('seeds', 'must list at least one host:port', raw);
  return items.map((item) => {
    const at = item.lastIndexOf(':');
    const host = at > 0 ? item.slice(0, at).replace(/^\[(.*)\]$/, '$1') : '';
    const port = Number(at > 0 ? item.slice(at + 1) : Number.NaN);
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw invalid('seeds', 'must be host:port with a port from 1 to 65535', item);
    }
    return { host, port };
  });
}

/** Applies the defaults once and validates every option, naming the option, the rule and the value. */
export function resolveKubernetesOptions(options: KubernetesTargetOptions = {}): ResolvedKubernetesOptions {
  const namespace = options.namespace ?? 'slotforge';
  if (!DNS_LABEL.test(namespace)) {
    throw invalid('namespace', "must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63)", namespace);
  }
  if (options.kubeconfig !== undefined && !existsSync(options.kubeconfig)) {
    throw invalid('kubeconfig', 'must be an existing kubeconfig file', options.kubeconfig);
  }
  if (options.context !== undefined && options.context.trim() === '') {
    throw invalid('context', 'must name a context of the kubeconfig', options.context);
  }
  for (const [option, value] of [
    ['headlessService', options.headlessService],
    ['authSecret', options.authSecret],
  ] as const) {
    if (value !== undefined && !DNS_SUBDOMAIN.test(value)) throw invalid(option, 'must be an object name', value);
  }
  const labelSelector = options.labelSelector ?? DEFAULT_MEMBER_SELECTOR;
  if (labelSelector.trim() === '') {
    // An empty selector would list every pod of the namespace, the signal pods and Jobs included.
    throw invalid('labelSelector', 'must select the cluster members, not every pod', labelSelector);
  }
  return {
    kubeconfig: options.kubeconfig,
    context: options.context,
    namespace,
    labelSelector,
    container: options.container ?? 'redis',
    headlessService: options.headlessService ?? 'redis-headless',
    clusterDomain: options.clusterDomain ?? 'cluster.local',
    authSecret: options.authSecret ?? 'redis-auth',
    seeds: options.seeds === undefined ? undefined : parseSeeds(options.seeds),
    signalImage: options.signalImage ?? 'busybox:1.36',
  };
}
