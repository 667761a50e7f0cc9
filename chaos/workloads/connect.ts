import { lookup } from 'node:dns';
import { Cluster, Redis } from 'ioredis';
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
    });
    client.on('error', () => {});
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
    retryDelayOnFailover: 100,
    maxRedirections: 6,
    enableAutoPipelining: options.autoPipelining ?? false,
    // A seed whose pod was scaled in no longer resolves; ioredis would then never connect (ioredis#979): keep the name
    // so only that seed fails, as @slotforge/client does.
    dnsLookup: (hostname, callback) => lookup(hostname, (error, address) => callback(null, error ? hostname : address)),
  });
  client.on('error', () => {});
  return client;
}

/** Failures after which a cluster client's slot map may be stale: a failover, a moved slot, a node gone silent. */
const STALE_MAP = /CLUSTERDOWN|TRYAGAIN|MOVED|timed out|ECONNRE|Connection is closed|max retries/i;

/**
 * Runs `command`; when it fails in a way that says the slot map may be stale, asks a Cluster client for a new one
 * at once (ioredis coalesces concurrent refreshes) instead of waiting for the next periodic refresh, then rethrows.
 * What a client that follows a failover quickly does (issue 15: the slot map refreshed on failure, not on a timer).
 */
export async function refreshingOnFailure<T>(client: Cluster | Redis, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    // Only while connected: a refresh asked of a client the workload already disconnected reconnects its nodes, and
    // those sockets kept the process alive after the run.
    if (
      client instanceof Cluster &&
      client.status === 'ready' &&
      STALE_MAP.test(String((error as Error)?.message ?? error))
    ) {
      client.refreshSlotsCache();
    }
    throw error;
  }
}

/** After a failed operation a writer waits this long before the next: a short back-off, the slot map refreshing. */
export const FAILURE_BACKOFF_MS = 25;
