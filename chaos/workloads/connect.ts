import { lookup } from 'node:dns';
import { Cluster, Redis } from 'ioredis';
import { endSlotRefreshOnClose } from '../../runtime/redis/index.ts';
import { keySlot } from '../slots.ts';
import type { TargetConnection } from '../target.ts';

/**
 * The raw ioredis connection the low-level workloads use, with the settings FACTS found to survive faults. Cluster:
 * slot refresh every second, and no offline queue so a command fails (and is recorded) instead of waiting forever.
 * Sentinel: the master is asked of the sentinels on every reconnect, and `+switch-master` triggers one at once.
 */
export function connectData(connection: TargetConnection, options: { autoPipelining?: boolean } = {}): Cluster | Redis {
  const auth = { username: connection.username, password: connection.password, connectTimeout: 1000 };
  if (connection.kind === 'sentinel') {
    const client = new Redis({
      ...auth,
      sentinels: connection.seeds.map((s) => ({ host: s.host, port: s.port })),
      name: connection.masterName ?? 'mymaster',
      sentinelPassword: connection.sentinelPassword,
      failoverDetector: true,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: options.autoPipelining ?? false,
      retryStrategy: (times) => Math.min(100 * times, 500),
      // A sentinel that accepts connections and never answers (paused) would otherwise hold every reconnect forever.
      sentinelCommandTimeout: 2000,
    });
    client.on('error', () => {});
    keepConnected(client);
    return client;
  }
  const client = new Cluster([...connection.seeds], {
    redisOptions: { ...auth, maxRetriesPerRequest: 1 },
    slotsRefreshInterval: 1000,
    // A refresh tries the nodes in random order and waits this long for each: a paused or cut-off node asked first
    // must not hold the new slot map back for a whole second (a healthy node answers CLUSTER SLOTS in milliseconds).
    slotsRefreshTimeout: 300,
    // 0: ioredis does not re-send a CLUSTERDOWN write to the same (deposed) master on the same stale map for up to
    // 6 x 100 ms; the write fails, refreshingOnFailure asks for a new map at once, and the writer tries again after a
    // short back-off (as @slotforge/client does). The failover timeline showed writes straddling the promotion
    // taking over 1 s that way.
    retryDelayOnClusterDown: 0,
    // 0: ioredis does not re-send a command whose connection closed before its reply (it would after 100 ms, on
    // its own). A re-sent INCR that then meets CLUSTERDOWN or MOVED ends in an error that looks definite although
    // its first attempt was applied: a SIGKILLed shard's restarted master refused the re-sent INCRBY during its
    // writable delay, the workload recorded it failed, and counter-bounds saw one increment more than possible
    // (kill-shard, 2026-12-05, load average 30). "Connection is closed" is recorded unknown; the writer retries.
    retryDelayOnFailover: 0,
    maxRedirections: 6,
    enableAutoPipelining: options.autoPipelining ?? false,
    // A seed whose pod was scaled in no longer resolves; ioredis would then never connect (ioredis#979): keep the name
    // so only that seed fails, as @slotforge/client does.
    dnsLookup: (hostname, callback) => lookup(hostname, (error, address) => callback(null, error ? hostname : address)),
  });
  client.on('error', () => {});
  return endSlotRefreshOnClose(client);
}

/**
 * ioredis 6.0.0 ends a Sentinel client for good when `+switch-master` reaches its failover detector while a reconnect
 * asks a sentinel for the primary (client/CORE.md; the drill `sentinel-pause-sentinel-kill-primary` hit it every run):
 * connect it again, unless the workload disconnected it. What docs/sentinel-setup.md tells users of plain ioredis.
 */
function keepConnected(client: Redis): void {
  let closing = false;
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect = false) => {
    closing ||= !reconnect;
    disconnect(reconnect);
  };
  const quit = client.quit.bind(client);
  client.quit = (...args: Parameters<typeof quit>) => {
    closing = true;
    return quit(...args);
  };
  client.on('end', () => {
    const again = () => !closing && client.status === 'end' && client.connect().catch(() => {});
    if (!closing) setTimeout(again, 100).unref();
  });
}

/** Failures after which a cluster client's slot map may be stale: a failover, a moved slot, a node gone silent. */
const STALE_MAP = /CLUSTERDOWN|TRYAGAIN|MOVED|timed out|ECONNRE|Connection is closed|max retries/i;

/** After a failure, the slot map is asked for again every this often... */
const BURST_INTERVAL_MS = 200;
/** ...for this long: a promotion lands within a second or two of the failures that announce it. */
const BURST_MS = 3000;
/** While a command runs longer than this, whether its slot still routes to the node it went to is checked. */
const REROUTE_CHECK_MS = 50;
/** A command unanswered this long starts refreshing the slot map, as a failed one does. */
const SLOW_REPLY_MS = 500;

const bursts = new WeakMap<Cluster, { timer: NodeJS.Timeout; until: number }>();

/**
 * Asks a Cluster client for a new slot map now and every 200 ms for the next 3 s (ioredis coalesces concurrent
 * refreshes): one refresh right after a timeout usually comes before the promotion and returns the old map, and the
 * next failure can be a whole operation deadline away.
 */
function refreshBurst(client: Cluster): void {
  const refresh = () => {
    // Only while connected: a refresh asked of a client the workload already disconnected reconnects its nodes,
    // and those sockets kept the process alive after the run.
    if (client.status === 'ready') client.refreshSlotsCache();
  };
  refresh();
  const until = Date.now() + BURST_MS;
  const running = bursts.get(client);
  if (running) {
    running.until = until;
    return;
  }
  const timer = setInterval(() => {
    const burst = bursts.get(client);
    if (!burst || Date.now() > burst.until || client.status !== 'ready') {
      clearInterval(timer);
      bursts.delete(client);
      return;
    }
    refresh();
  }, BURST_INTERVAL_MS);
  timer.unref();
  bursts.set(client, { timer, until });
}

/**
 * Runs `command` (on `key`'s slot); when it fails in a way that says the slot map may be stale, refreshes a Cluster
 * client's map at once and keeps refreshing for a few seconds (instead of waiting for the next periodic refresh),
 * then rethrows. While it runs, if the client's map sends `key`'s slot to another node than the one it went to (a
 * failover was seen), it is abandoned as `unknown` instead of waiting out its deadline on a node that may be dead.
 * What a client that follows a failover quickly does (issue 15 item 2).
 */
export async function refreshingOnFailure<T>(
  client: Cluster | Redis,
  command: () => Promise<T>,
  key?: string,
): Promise<T> {
  const routed = client instanceof Cluster && key !== undefined ? rerouted(client, key) : undefined;
  try {
    return await (routed ? Promise.race([command(), routed.promise]) : command());
  } catch (error) {
    if (client instanceof Cluster && STALE_MAP.test(String((error as Error)?.message ?? error))) refreshBurst(client);
    throw error;
  } finally {
    routed?.cancel();
  }
}

/** A promise that rejects once `key`'s slot routes to another node than now (checked every 50 ms), and its cancel. */
function rerouted(client: Cluster, key: string): { promise: Promise<never>; cancel: () => void } {
  const slot = keySlot(key);
  const node = client.slots[slot]?.[0];
  const started = Date.now();
  let bursting = false;
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      // A node that has not answered for this long may be the one failing over: ask for the map now, not only after
      // the operation deadline (a healthy node answers in milliseconds).
      if (!bursting && Date.now() - started >= SLOW_REPLY_MS) {
        bursting = true;
        refreshBurst(client);
      }
      const now = client.slots[slot]?.[0];
      if (node !== undefined && now !== undefined && now !== node) {
        reject(new Error(`abandoned: slot ${slot} moved from ${node} to ${now} while waiting (outcome unknown)`));
      }
    }, REROUTE_CHECK_MS);
  });
  promise.catch(() => undefined);
  return { promise, cancel: () => clearInterval(timer) };
}

/** After a failed operation a writer waits this long before the next: a short back-off, the slot map refreshing. */
export const FAILURE_BACKOFF_MS = 25;
