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
    slotsRefreshTimeout: 1000,
    retryDelayOnClusterDown: 100,
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
