import { Cluster } from 'ioredis';
import type { TargetConnection } from '../target.ts';

/**
 * The raw ioredis cluster connection the low-level workloads use, with the settings FACTS found to survive faults:
 * slot refresh every second, and no offline queue so a command fails (and is recorded) instead of waiting forever.
 */
export function connectCluster(connection: TargetConnection, options: { autoPipelining?: boolean } = {}): Cluster {
  const client = new Cluster([...connection.seeds], {
    redisOptions: {
      username: connection.username,
      password: connection.password,
      connectTimeout: 1000,
      maxRetriesPerRequest: 1,
    },
    slotsRefreshInterval: 1000,
    slotsRefreshTimeout: 1000,
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    maxRedirections: 6,
    enableAutoPipelining: options.autoPipelining ?? false,
  });
  client.on('error', () => {});
  return client;
}
