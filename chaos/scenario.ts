import type { Verdict } from './checkers/verdict.ts';
import type { History } from './history.ts';
import type { ChaosTarget, PodInfo } from './target.ts';
import type { Workload } from './workloads/workload.ts';

/** What a fault's inject hands to the runner: the pods it hit and the slots whose operations it affects. */
export interface FaultEffect {
  readonly pods: readonly string[];
  /** Slot ranges whose operations count as affected (empty = every operation). */
  readonly affectedSlots: ReadonlyArray<readonly [number, number]>;
  readonly description: string;
  /** Figures the fault measured while it ran (e.g. the longest full resync of a rollout), by name. */
  readonly figures?: Readonly<Record<string, number>>;
}

/**
 * What the runner lends a fault: a marker on the history's clock. A fault marks `fault:start` once the fault is in
 * force (the runner's `fault:inject` comes before the target was asked anything) and `fault:end` when it lifts it.
 */
export interface FaultContext {
  /** `fault:start`, `fault:applied` (a fault applied in steps is complete), `fault:end`, or a fault's own marker. */
  mark(name: string, detail?: string): void;
}

/** A fault: `inject` breaks something; `heal` (idempotent) undoes what a person or controller would. */
export interface Fault {
  inject(target: ChaosTarget, ctx?: FaultContext): Promise<FaultEffect>;
  heal(target: ChaosTarget, ctx?: FaultContext): Promise<void>;
}

/** What checkers are given besides the history. */
export interface CheckContext {
  readonly nodeTimeoutMs: number;
  readonly effect: FaultEffect;
}

/** A chaos scenario: a fault, the workloads that record history around it, and the checkers that judge it. */
export interface Scenario {
  readonly name: string;
  /**
   * What it runs against: a RedisCluster, the RedisCluster variant sized for a large dataset
   * (`largeDatasetClusterManifests`), or a RedisSentinel deployment. @default 'cluster'
   */
  readonly deployment?: 'cluster' | 'cluster-large' | 'sentinel';
  readonly description: string;
  readonly fault: Fault;
  readonly workloads: () => Workload[];
  readonly check: (history: History, ctx: CheckContext) => Verdict[];
  /** Runs before the workloads start (e.g. scale out first, so that scale-in has a shard to remove). */
  readonly prepare?: (target: ChaosTarget) => Promise<void>;
  /** How long the fault stays in force before heal. @default 0 (heal right after the deployment is healthy again) */
  readonly faultDurationMs?: number;
}

/** The first master (by name) that serves slots, or of a Sentinel deployment (no slots) the primary. */
export function pickMaster(pods: readonly PodInfo[]): PodInfo {
  const masters = [...pods].sort((a, b) => a.name.localeCompare(b.name)).filter((p) => p.role === 'master');
  const master = masters.find((p) => p.slots.length > 0) ?? (masters.length === 1 ? masters[0] : undefined);
  if (!master) throw new Error('no master serving slots found');
  return master;
}
