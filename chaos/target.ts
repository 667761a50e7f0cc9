/** A pod (or process) of the deployment under test, as a fault sees it. */
export interface PodInfo {
  readonly name: string;
  readonly address: string;
  readonly role: 'master' | 'replica' | 'sentinel' | 'unknown';
  /** Slot ranges served when the pod is a cluster master. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  /** The master this pod replicates, by pod name. */
  readonly masterOf?: string;
}

/** A cluster member the node observer polls from the host (the failover timeline). */
export interface ObservedMember {
  readonly pod: string;
  readonly host: string;
  readonly port: number;
}

/** How workloads reach the deployment. */
export interface TargetConnection {
  readonly kind: 'cluster' | 'sentinel';
  readonly seeds: ReadonlyArray<{ host: string; port: number }>;
  /** ACL user; the default user when absent. */
  readonly username?: string;
  readonly password?: string;
  /** For Sentinel deployments: the sentinels' own password. */
  readonly sentinelPassword?: string;
  /** For Sentinel deployments. */
  readonly masterName?: string;
}

/**
 * What the chaos suite needs of a deployment. The local runtime is the default target; a real Kubernetes cluster
 * (kubeconfig) implements the same verbs with pod deletes, exec and NetworkPolicies.
 */
export interface ChaosTarget {
  readonly name: string;
  connection(): Promise<TargetConnection>;
  pods(): Promise<PodInfo[]>;
  /** cluster-node-timeout of the deployment, for thresholds. */
  nodeTimeoutMs(): Promise<number>;
  /** SIGKILL the pod's containers; the controller restarts or recreates it. */
  kill(pod: string): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  pause(pod: string): Promise<void>;
  resume(pod: string): Promise<void>;
  /** Graceful delete: preStop, SIGTERM, grace period; recreated with a new IP. */
  delete(pod: string): Promise<void>;
  /** Cut `pods` off from `from` (both directions). Optional: not every target can partition. */
  partition?(pods: readonly string[], from: readonly string[], options?: { busOnly?: boolean }): Promise<void>;
  /** Undo every partition. */
  heal?(): Promise<void>;
  /** Moves `slots` slots from the first master to the second (a planned reshard). Optional. */
  reshard?(slots: number): Promise<void>;
  /** `redis-cli --cluster check` output (also when it reports errors). Optional. */
  clusterCheck?(): Promise<string>;
  /** Changes the number of shards, moving slots onto new shards or draining removed ones first. Optional. */
  scale?(shards: number): Promise<void>;
  /**
   * The members and the admin credentials the node observer polls CLUSTER NODES / INFO with. Optional: a target
   * without it runs scenarios with no failover timeline.
   */
  observable?(): Promise<{ members: ObservedMember[]; username?: string; password?: string }>;
  /**
   * A `kubectl rollout restart` of every StatefulSet: a new pod-template annotation, so the StatefulSet controller
   * replaces each pod, one per StatefulSet at a time, highest ordinal first, moving on only when the new pod is Ready
   * (and `minReadySeconds` passed). Resolves when every pod runs the new template; reports each replica's full
   * resync as observed. Optional.
   */
  rolloutRestart?(timeoutMs: number): Promise<RolloutReport>;
  /** Polls until the deployment is healthy again (cluster_state ok everywhere, replicas linked). */
  waitHealthy(timeoutMs: number): Promise<void>;
}

/** Raised when a scenario needs a verb its target does not offer. */
/** What a {@link ChaosTarget.rolloutRestart} saw. */
export interface RolloutReport {
  /** Pods in the order their new incarnation became Ready. */
  readonly pods: readonly string[];
  /** Each full resync seen (a replica answering with its link down or a sync in progress, until its link is up). */
  readonly syncs: ReadonlyArray<{ readonly pod: string; readonly ms: number }>;
  readonly durationMs: number;
}

export class UnsupportedFaultError extends Error {
  readonly code = 'E_UNSUPPORTED_FAULT';
  constructor(
    readonly target: string,
    readonly verb: string,
  ) {
    super(`target '${target}' cannot ${verb}`);
    this.name = 'UnsupportedFaultError';
  }
}
