/**
 * A guard around ioredis 6.0.0's sharded subscriber group (`Cluster#shardedSubscribers`, a ClusterSubscriberGroup).
 *
 * The group rebuilds its per-master subscribers in `reset()`, which awaits every `ShardedSubscriber#start()` it began
 * and sets `isResetting` meanwhile (a reset arriving then is parked as `pendingReset`). `ShardedSubscriber#stop()`
 * disconnects the connection and removes its listeners before the connection's 'close' fires, so a `start()` still
 * connecting when the group is stopped never settles: that reset never ends, `isResetting` stays set, and every later
 * reset (each slot-map refresh) is parked and then dropped by the next `stop()`. No sharded subscription is ever
 * re-established, although the cluster is healthy and the slot map right.
 *
 * It happens after a full restart (every master at a new address) while the seeds' names still give the old ones
 * (Kubernetes DNS caching; the local runtime's `--dns-delay`): the reconnect resets the group from the stale seeds and
 * starts subscribers on dead addresses, and the subscriber-triggered slot refresh then finds every node dead and calls
 * `disconnect(true)`, which stops the group while those subscribers are still connecting (the chaos drill
 * `full-restart`, 3 of 4 runs with a 5 s DNS delay: delivery never resumed on any channel).
 *
 * Stopping the group stops every subscriber, so a reset in flight at that moment can only hang: the wrapped `stop()`
 * clears `isResetting`, and the next slot-map refresh (ours, every `slotsRefreshIntervalMs`, or the group's own
 * retry after a failed connect) rebuilds the subscribers from the current map and resubscribes every channel.
 */

/** The fields of ioredis' ClusterSubscriberGroup the guard uses (private in its typings). */
interface SubscriberGroup {
  stop(): void;
  isResetting: boolean;
}

function subscriberGroup(cluster: object): SubscriberGroup | undefined {
  const group = (cluster as { shardedSubscribers?: Partial<SubscriberGroup> }).shardedSubscribers;
  // Another ioredis shape: nothing to guard (test/client/pubsub/pubsub-full-restart.test.ts would tell).
  if (!group || typeof group.stop !== 'function' || typeof group.isResetting !== 'boolean') return undefined;
  return group as SubscriberGroup;
}

/** Makes `cluster`'s sharded subscriber group rebuildable after a stop that interrupted a reset. */
export function keepShardedSubscribersResettable(cluster: object): void {
  const group = subscriberGroup(cluster);
  if (!group) return;
  const stop = group.stop.bind(group);
  group.stop = () => {
    stop();
    group.isResetting = false;
  };
}

/** The part of an ioredis Cluster the reconnect watch uses. */
export interface ReconnectableCluster {
  readonly status: string;
  connect(): Promise<void>;
}

/** Ticks in 'disconnecting' before the watch reconnects: longer than our own close() (quit bounded by 1 s). */
const STRANDED_TICKS = 3;

/**
 * ioredis 6.0.0 can also strand a sharded subscriber Cluster in 'disconnecting': a subscriber-triggered slot refresh
 * (after a failed subscriber connect, on a timer) that runs while a failed reconnect has emptied the node pool fails at
 * once and calls `disconnect(true)`; resetting an empty pool emits no 'drain', so no 'close' and no reconnect follow,
 * and our slot refresh skips a cluster that is not ready. A cluster 'disconnecting' for STRANDED_TICKS ticks in a row
 * is connected again (a failed attempt goes through its clusterRetryStrategy like any other). Returns the stop.
 */
export function watchStrandedReconnect(cluster: ReconnectableCluster, intervalMs: number): () => void {
  let ticks = 0;
  const timer = setInterval(() => {
    ticks = cluster.status === 'disconnecting' ? ticks + 1 : 0;
    if (ticks < STRANDED_TICKS) return;
    ticks = 0;
    cluster.connect().catch(() => {});
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The parts of ioredis 6.0.0's ClusterSubscriberGroup and ShardedSubscriber the audit reads (private in its typings). */
export interface AuditedGroup {
  isResetting: boolean;
  /** Slot -> the channels subscribed in it (what the group means to be subscribed to). */
  channels: Map<number, string[]>;
  /** Slot -> [master node key, ...], as of the group's last reset. */
  clusterSlots: string[][];
  shardedSubscribers: Map<string, { getInstance(): AuditedConnection | null }>;
}

export interface AuditedConnection {
  readonly status: string;
  /** ioredis' record of the subscriptions Redis confirmed on this connection (false: none). */
  readonly condition?: { subscriber?: false | { channels(mode: 'ssubscribe'): string[] } };
  ssubscribe(...channels: string[]): Promise<unknown>;
}

function auditedGroup(cluster: object): AuditedGroup | undefined {
  const group = (cluster as { shardedSubscribers?: Partial<AuditedGroup> }).shardedSubscribers;
  if (!group || !(group.channels instanceof Map) || !(group.shardedSubscribers instanceof Map)) return undefined;
  if (!Array.isArray(group.clusterSlots)) return undefined;
  return group as AuditedGroup;
}

/** How long a repair SSUBSCRIBE may stay unanswered before the audit sends it again. */
const IN_FLIGHT_MS = 10_000;
/** The longest wait before a repair that Redis refused is sent again (doubling from the audit interval). */
const MAX_BACKOFF_MS = 30_000;

/** What the audit tells: a repair Redis confirmed, or one it refused (tried again after `retryInMs`). */
export interface AuditReport {
  repaired(channels: string[], node: string): void;
  refused(channels: string[], node: string, error: unknown, retryInMs: number): void;
}

/**
 * ioredis 6.0.0's group resubscribes a master's channels once, right after it (re)connects that master's subscriber,
 * and only logs a SSUBSCRIBE that fails then (`_resubscribe`: "TODO: Should we emit an error event here?"). The
 * subscriber stays connected and healthy, the slot map does not change, so no later reset tries again: the channel
 * is silently dead on a cluster that is fine (a master still loading or refusing the channel for a moment after a
 * full restart; an ACL that denied it meanwhile).
 *
 * Each {@link SubscriptionAudit.tick} compares what the group means to be subscribed to with what Redis confirmed on
 * the connection of the slot's master. A channel missing there at two ticks in a row (an SSUBSCRIBE merely in flight
 * is not missing) is subscribed again on that connection (Redis ignores a second SSUBSCRIBE of one channel); the
 * report hears when Redis confirms it, or refuses it (an error reply other than a redirect): then it is sent again
 * once a back-off from the refusal has passed, doubling from 2 intervals up to 30 s. A send that failed otherwise
 * (the connection closed under it) is tried again at the next ticks, unreported. Nothing is done while the group
 * resets, for a connection that is not ready, or for a slot whose master in the client's current slot map is not the
 * group's (a failover or a migration the group has not followed yet: its own reset will subscribe there).
 */
export class SubscriptionAudit {
  /** `node channel` pairs found missing at the previous tick. */
  #missingBefore = new Set<string>();
  /** `node channel` -> no repair before this time (one in flight, or a refused one backing off). */
  #holdUntil = new Map<string, number>();
  /** `node channel` -> refusals in a row. */
  #refusals = new Map<string, number>();

  constructor(
    private readonly group: AuditedGroup,
    /** The client's current slot map (slot -> [master node key, ...]), when it has one. */
    private readonly currentSlots: () => readonly (readonly string[] | undefined)[] | undefined,
    private readonly intervalMs: number,
    private readonly report: AuditReport,
    private readonly now: () => number = Date.now,
  ) {}

  tick(): void {
    const missingNow = new Set<string>();
    /** Pairs audited now: the others (a channel unsubscribed, a master gone) are forgotten. */
    const seen = new Set<string>();
    if (!this.group.isResetting) {
      for (const [slot, channels] of this.group.channels) this.#audit(slot, channels, missingNow, seen);
      this.#holdUntil = keep(this.#holdUntil, seen);
      this.#refusals = keep(this.#refusals, seen);
    }
    this.#missingBefore = missingNow;
  }

  #audit(slot: number, channels: readonly string[], missingNow: Set<string>, seen: Set<string>): void {
    const node = this.group.clusterSlots[slot]?.[0];
    if (node === undefined || channels.length === 0) return;
    const current = this.currentSlots()?.[slot]?.[0];
    if (current !== undefined && current !== node) return;
    const connection = this.group.shardedSubscribers.get(node)?.getInstance();
    if (connection?.status !== 'ready') return;
    const subscribed = connection.condition?.subscriber;
    const confirmed = new Set(subscribed ? subscribed.channels('ssubscribe') : []);
    const repair: string[] = [];
    const now = this.now();
    for (const channel of new Set(channels)) {
      const pair = `${node} ${channel}`;
      seen.add(pair);
      if (confirmed.has(channel)) {
        this.#refusals.delete(pair);
        continue;
      }
      if (now < (this.#holdUntil.get(pair) ?? -Infinity)) continue;
      missingNow.add(pair);
      // Missing at two ticks, or refused before and its back-off over: one more tick would only delay it.
      if (this.#missingBefore.has(pair) || this.#refusals.has(pair)) repair.push(channel);
    }
    if (repair.length > 0) this.#repair(connection, node, repair);
  }

  #repair(connection: AuditedConnection, node: string, channels: string[]): void {
    const pairs = channels.map((channel) => `${node} ${channel}`);
    for (const pair of pairs) this.#holdUntil.set(pair, this.now() + IN_FLIGHT_MS);
    connection
      .ssubscribe(...channels)
      .then(
        () => {
          for (const pair of pairs) {
            this.#holdUntil.delete(pair);
            this.#refusals.delete(pair);
          }
          this.report.repaired(channels, node);
        },
        (error: unknown) => {
          for (const pair of pairs) this.#holdUntil.delete(pair);
          if (!isRefusal(error)) return;
          const refusals = Math.max(...pairs.map((pair) => this.#refusals.get(pair) ?? 0)) + 1;
          const retryInMs = Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** refusals);
          const until = this.now() + retryInMs;
          for (const pair of pairs) {
            this.#refusals.set(pair, refusals);
            this.#holdUntil.set(pair, until);
          }
          this.report.refused(channels, node, error, retryInMs);
        },
      )
      .catch(() => {});
  }
}

/** Redis answered with an error (NOPERM, ...), not a redirect (MOVED/ASK: the slot map is behind) or a lost link. */
function isRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && !/^(MOVED|ASK) /.test(error.message);
}

/** The entries of `map` whose key is in `keys`. */
function keep<V>(map: Map<string, V>, keys: ReadonlySet<string>): Map<string, V> {
  return new Map([...map].filter(([key]) => keys.has(key)));
}

/** Runs a {@link SubscriptionAudit} of `cluster`'s sharded subscriber group every `intervalMs`; returns the stop. */
export function auditShardedSubscriptions(cluster: object, intervalMs: number, report: AuditReport): () => void {
  const group = auditedGroup(cluster);
  if (!group) return () => {};
  const slots = () => (cluster as { slots?: Array<string[] | undefined> }).slots;
  const audit = new SubscriptionAudit(group, slots, intervalMs, report);
  const timer = setInterval(() => audit.tick(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Both watches of a sharded subscriber Cluster (stranded reconnect, subscription audit); returns their stop. */
export function watchShardedSubscriber(
  cluster: ReconnectableCluster,
  intervalMs: number,
  report: AuditReport,
): () => void {
  const stops = [watchStrandedReconnect(cluster, intervalMs), auditShardedSubscriptions(cluster, intervalMs, report)];
  return () => {
    for (const stop of stops) stop();
  };
}
