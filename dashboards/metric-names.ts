/**
 * The one source of metric names for dashboards and alerts. Every PromQL expression in `dashboards/` names metrics
 * through these constants, and a test parses every expression and fails on a name that is not listed here.
 *
 * - {@link EXPORTER_METRICS}: what redis_exporter 1.45 (oliver006/redis_exporter, Debian `prometheus-redis-exporter`)
 *   exposes for a Redis 7.0 cluster node, checked against a real exporter by `test/cli/monitor/stack.test.ts`.
 * - {@link CLIENT_METRICS}: the slotforge client's own constants, re-exported from the client source.
 * - {@link PROMETHEUS_METRICS}: series Prometheus itself writes for every target.
 *
 * @see https://github.com/oliver006/redis_exporter
 */

// The client's metric constants. This is the only import of them in dashboards/: switching to the package entry
// point (`../client/src/index.ts`) is a one-line change here.
export { LOADER_BUCKETS_SECONDS, METRIC_LABELS as CLIENT_LABELS } from '../client/src/metrics/index.ts';

import { METRIC_NAMES } from '../client/src/metrics/index.ts';

/** The slotforge client's metric names (counters end in `_total`; `loaderDuration` is a histogram). */
export const CLIENT_METRICS = METRIC_NAMES;

/** Client metrics that are histograms: queries use their `_bucket`, `_sum` and `_count` series. */
export const CLIENT_HISTOGRAMS: readonly string[] = [METRIC_NAMES.loaderDuration];

/**
 * redis_exporter 1.45 metrics used by the dashboards and alerts. Each is present on a Redis 7.0.15 cluster node
 * (some only on a master with replicas, or only on a replica, as noted).
 */
export const EXPORTER_METRICS = {
  /** 1 when the exporter reached Redis on its last scrape. */
  up: 'redis_up',
  /** Labels: role (`master` | `slave`), redis_version, redis_mode, maxmemory_policy, ... Value 1. */
  instanceInfo: 'redis_instance_info',
  uptimeSeconds: 'redis_uptime_in_seconds',
  /** 1 = ok, 0 = fail (CLUSTER INFO cluster_state). */
  clusterState: 'redis_cluster_state',
  clusterSlotsAssigned: 'redis_cluster_slots_assigned',
  clusterSlotsOk: 'redis_cluster_slots_ok',
  clusterSlotsPfail: 'redis_cluster_slots_pfail',
  clusterSlotsFail: 'redis_cluster_slots_fail',
  clusterKnownNodes: 'redis_cluster_known_nodes',
  /** Masters serving at least one slot. */
  clusterSize: 'redis_cluster_size',
  clusterCurrentEpoch: 'redis_cluster_current_epoch',
  clusterMessagesSent: 'redis_cluster_messages_sent_total',
  clusterMessagesReceived: 'redis_cluster_messages_received_total',
  /** Replicas connected to this node (0 on a replica). */
  connectedReplicas: 'redis_connected_slaves',
  /** Replica only. Labels: master_host, master_port. */
  masterLinkUp: 'redis_master_link_up',
  /** Replica only. Seconds since the last interaction with the master. */
  masterLastIoSecondsAgo: 'redis_master_last_io_seconds_ago',
  /** Master with replicas only. Labels: slave_ip, slave_port, slave_state. */
  replicaLagSeconds: 'redis_connected_slave_lag_seconds',
  /** Master with replicas only. Labels: slave_ip, slave_port, slave_state. */
  replicaOffsetBytes: 'redis_connected_slave_offset_bytes',
  masterReplOffset: 'redis_master_repl_offset',
  commandsProcessed: 'redis_commands_processed_total',
  /** Labels: cmd. */
  commandCalls: 'redis_commands_total',
  /** Labels: cmd. */
  commandDurationSeconds: 'redis_commands_duration_seconds_total',
  /** Summary from INFO latencystats. Labels: cmd, quantile (`50`, `99`, `99.9`). */
  commandLatencyUsec: 'redis_latency_percentiles_usec',
  /** Labels: cmd. */
  commandsRejected: 'redis_commands_rejected_calls_total',
  /** Labels: cmd. */
  commandsFailed: 'redis_commands_failed_calls_total',
  memoryUsedBytes: 'redis_memory_used_bytes',
  /** maxmemory; 0 means no limit. */
  memoryMaxBytes: 'redis_memory_max_bytes',
  memoryRssBytes: 'redis_memory_used_rss_bytes',
  evictedKeys: 'redis_evicted_keys_total',
  expiredKeys: 'redis_expired_keys_total',
  keyspaceHits: 'redis_keyspace_hits_total',
  keyspaceMisses: 'redis_keyspace_misses_total',
  /** Labels: db. */
  dbKeys: 'redis_db_keys',
  connectedClients: 'redis_connected_clients',
  blockedClients: 'redis_blocked_clients',
  /** Connections refused because of maxclients. */
  rejectedConnections: 'redis_rejected_connections_total',
  maxClients: 'redis_max_clients',
  netInputBytes: 'redis_net_input_bytes_total',
  netOutputBytes: 'redis_net_output_bytes_total',
  /** 1 = ok, 0 = err. */
  rdbLastBgsaveStatus: 'redis_rdb_last_bgsave_status',
  rdbChangesSinceLastSave: 'redis_rdb_changes_since_last_save',
  rdbLastSaveTimestampSeconds: 'redis_rdb_last_save_timestamp_seconds',
  aofEnabled: 'redis_aof_enabled',
  /** 1 = ok, 0 = err. */
  aofLastWriteStatus: 'redis_aof_last_write_status',
  /** 1 = ok, 0 = err. */
  aofLastBgrewriteStatus: 'redis_aof_last_bgrewrite_status',
  /** 1 while the node loads its RDB/AOF at start. */
  loadingDumpFile: 'redis_loading_dump_file',
} as const;

/** Series Prometheus records for every scrape target. */
export const PROMETHEUS_METRICS = {
  /** 1 when the scrape of the target (here: the exporter) succeeded. */
  up: 'up',
} as const;

/** `name_bucket`, `name_sum`, `name_count` of a histogram. */
export function histogramSeries(name: string): { bucket: string; sum: string; count: string } {
  return { bucket: `${name}_bucket`, sum: `${name}_sum`, count: `${name}_count` };
}

/** Every metric name a dashboard or alert may query. */
export function knownMetricNames(): ReadonlySet<string> {
  const names = new Set<string>([
    ...Object.values(EXPORTER_METRICS),
    ...Object.values(CLIENT_METRICS),
    ...Object.values(PROMETHEUS_METRICS),
  ]);
  for (const h of CLIENT_HISTOGRAMS) for (const s of Object.values(histogramSeries(h))) names.add(s);
  return names;
}
