import { EXPORTER_METRICS as M } from './metric-names.ts';
import type { DashboardSpec, PanelSpec } from './panels.ts';

/** The `job` matcher every cluster query carries (the dashboard's `$job` variable). */
const J = 'job=~"$job"';
const RI = '$__rate_interval';
const masters = `${M.instanceInfo}{${J}, role="master"}`;

const okFail = { 0: ['fail', 'red'], 1: ['ok', 'green'] } as const;

const clusterRow: PanelSpec[] = [
  {
    kind: 'stat',
    title: 'Cluster state',
    description: 'Worst cluster_state any node reports (CLUSTER INFO). fail: commands get CLUSTERDOWN.',
    queries: [{ expr: `min(${M.clusterState}{${J}})` }],
    valueText: okFail,
  },
  {
    kind: 'stat',
    title: 'Slots ok',
    description:
      'Slots served by a reachable master, as the node that sees the most of them reports it. 16384 is whole.',
    queries: [{ expr: `max(${M.clusterSlotsOk}{${J}})` }],
    thresholds: { base: 'red', steps: [[16384, 'green']] },
  },
  {
    kind: 'stat',
    title: 'Slots PFAIL',
    description: 'Slots whose master some node cannot reach (suspected failure, not yet agreed).',
    queries: [{ expr: `max(${M.clusterSlotsPfail}{${J}})` }],
    thresholds: { base: 'green', steps: [[1, 'orange']] },
  },
  {
    kind: 'stat',
    title: 'Slots FAIL',
    description: 'Slots whose master a majority of masters agreed is down and that no replica has taken over yet.',
    queries: [{ expr: `max(${M.clusterSlotsFail}{${J}})` }],
    thresholds: { base: 'green', steps: [[1, 'red']] },
  },
  {
    kind: 'stat',
    title: 'Masters',
    description: 'Nodes whose role is master (redis_instance_info). Compare with the shards you deployed.',
    queries: [{ expr: `count(${masters})` }],
  },
  {
    kind: 'stat',
    title: 'Replicas',
    description: 'Nodes whose role is replica (redis_instance_info role="slave").',
    queries: [{ expr: `count(${M.instanceInfo}{${J}, role="slave"})` }],
  },
];

const shardsRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Replicas per shard',
    description: 'Connected replicas of each master: one line per shard, named by its master. 0 means no failover.',
    queries: [{ expr: `${M.connectedReplicas}{${J}} and on (instance) ${masters}`, legend: '{{instance}}' }],
    min: 0,
  },
  {
    kind: 'timeseries',
    title: 'Slots by state',
    description: 'ok, PFAIL and FAIL slots over time, as the node that sees the most of each reports them.',
    queries: [
      { expr: `max(${M.clusterSlotsOk}{${J}})`, legend: 'ok' },
      { expr: `max(${M.clusterSlotsPfail}{${J}})`, legend: 'pfail' },
      { expr: `max(${M.clusterSlotsFail}{${J}})`, legend: 'fail' },
    ],
    min: 0,
  },
  {
    kind: 'timeseries',
    title: 'Nodes up and known',
    description: 'Nodes whose exporter reaches Redis, and the most nodes any member knows (CLUSTER INFO known_nodes).',
    queries: [
      { expr: `sum(${M.up}{${J}})`, legend: 'up' },
      { expr: `max(${M.clusterKnownNodes}{${J}})`, legend: 'known' },
    ],
    min: 0,
  },
];

const trafficRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Operations per second by node',
    description: 'Commands processed per second on each node. A master missing here is down or has no slots.',
    unit: 'ops',
    queries: [{ expr: `rate(${M.commandsProcessed}{${J}}[${RI}])`, legend: '{{instance}}' }],
    stacked: true,
  },
  {
    kind: 'timeseries',
    title: 'Keyspace hit ratio',
    description: 'Lookups that found their key, across the cluster and per node (keyspace_hits / hits + misses).',
    unit: 'percentunit',
    min: 0,
    max: 1,
    queries: [
      {
        expr: `sum(rate(${M.keyspaceHits}{${J}}[${RI}])) / (sum(rate(${M.keyspaceHits}{${J}}[${RI}])) + sum(rate(${M.keyspaceMisses}{${J}}[${RI}])))`,
        legend: 'cluster',
      },
      {
        expr: `rate(${M.keyspaceHits}{${J}}[${RI}]) / (rate(${M.keyspaceHits}{${J}}[${RI}]) + rate(${M.keyspaceMisses}{${J}}[${RI}]))`,
        legend: '{{instance}}',
      },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Command latency (mean)',
    description: 'Mean time Redis spends executing each command, for the 10 slowest commands (excludes network).',
    unit: 's',
    queries: [
      {
        expr: `topk(10, sum by (cmd) (rate(${M.commandDurationSeconds}{${J}}[${RI}])) / sum by (cmd) (rate(${M.commandCalls}{${J}}[${RI}])))`,
        legend: '{{cmd}}',
      },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Command latency p99 (since start)',
    description: 'p99 execution time per command from INFO latencystats: cumulative since the node started.',
    unit: 'µs',
    queries: [{ expr: `topk(10, max by (cmd) (${M.commandLatencyUsec}{${J}, quantile="99"}))`, legend: '{{cmd}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Rejected and failed commands',
    description: 'Commands refused before running (rejected: wrong args, OOM, CLUSTERDOWN) or failing while running.',
    unit: 'ops',
    queries: [
      { expr: `sum by (cmd) (rate(${M.commandsRejected}{${J}}[${RI}]))`, legend: 'rejected {{cmd}}' },
      { expr: `sum by (cmd) (rate(${M.commandsFailed}{${J}}[${RI}]))`, legend: 'failed {{cmd}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Network',
    description: 'Bytes per second in and out of each node (clients and replication; the cluster bus is separate).',
    unit: 'Bps',
    queries: [
      { expr: `rate(${M.netInputBytes}{${J}}[${RI}])`, legend: 'in {{instance}}' },
      { expr: `rate(${M.netOutputBytes}{${J}}[${RI}])`, legend: 'out {{instance}}' },
    ],
  },
];

const memoryRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Memory used and maxmemory',
    description: 'used_memory of each node and its maxmemory (nodes without a limit show no maxmemory line).',
    unit: 'bytes',
    queries: [
      { expr: `${M.memoryUsedBytes}{${J}}`, legend: 'used {{instance}}' },
      { expr: `${M.memoryMaxBytes}{${J}} > 0`, legend: 'maxmemory {{instance}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Memory against maxmemory',
    description: 'used_memory / maxmemory. Near 1 the node evicts or, with noeviction, rejects writes.',
    unit: 'percentunit',
    min: 0,
    max: 1,
    thresholds: { base: 'green', steps: [[0.9, 'red']] },
    queries: [{ expr: `${M.memoryUsedBytes}{${J}} / (${M.memoryMaxBytes}{${J}} > 0)`, legend: '{{instance}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Evictions and expirations',
    description: 'Keys evicted for memory, and keys expired by TTL, per second.',
    unit: 'ops',
    queries: [
      { expr: `rate(${M.evictedKeys}{${J}}[${RI}])`, legend: 'evicted {{instance}}' },
      { expr: `rate(${M.expiredKeys}{${J}}[${RI}])`, legend: 'expired {{instance}}' },
    ],
  },
];

const clientsRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Clients',
    description: 'Connected and blocked clients per node.',
    queries: [
      { expr: `${M.connectedClients}{${J}}`, legend: 'connected {{instance}}' },
      { expr: `${M.blockedClients}{${J}}`, legend: 'blocked {{instance}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Rejected connections',
    description: 'Connections refused per second because maxclients was reached.',
    unit: 'ops',
    queries: [{ expr: `rate(${M.rejectedConnections}{${J}}[${RI}])`, legend: '{{instance}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Cluster bus messages',
    description: 'Gossip messages per second each node sends; a jump follows failures and failovers.',
    unit: 'ops',
    queries: [{ expr: `rate(${M.clusterMessagesSent}{${J}}[${RI}])`, legend: '{{instance}}' }],
  },
];

const replicationRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Replication link',
    description: 'master_link_status of each replica: 1 up, 0 down (syncing, or the master is gone).',
    queries: [{ expr: `${M.masterLinkUp}{${J}}`, legend: '{{instance}} ← {{master_host}}:{{master_port}}' }],
    valueText: { 0: ['down', 'red'], 1: ['up', 'green'] },
    min: 0,
    max: 1,
  },
  {
    kind: 'timeseries',
    title: 'Replica lag (seconds)',
    description: 'Seconds since each replica last acknowledged its master (INFO replication lag, 1 s resolution).',
    unit: 's',
    queries: [{ expr: `${M.replicaLagSeconds}{${J}}`, legend: '{{instance}} → {{slave_ip}}:{{slave_port}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Replica lag (bytes)',
    description: 'Replication stream bytes each replica has not acknowledged yet (master offset minus replica offset).',
    unit: 'bytes',
    queries: [
      {
        expr: `${M.masterReplOffset}{${J}} - on (instance, job) group_right ${M.replicaOffsetBytes}{${J}}`,
        legend: '{{instance}} → {{slave_ip}}:{{slave_port}}',
      },
    ],
  },
];

const persistenceRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Persistence status',
    description: 'Last RDB save, AOF write and AOF rewrite of each node: 1 ok, 0 failed.',
    min: 0,
    max: 1,
    valueText: okFail,
    queries: [
      { expr: `${M.rdbLastBgsaveStatus}{${J}}`, legend: 'rdb {{instance}}' },
      { expr: `${M.aofLastWriteStatus}{${J}}`, legend: 'aof write {{instance}}' },
      { expr: `${M.aofLastBgrewriteStatus}{${J}}`, legend: 'aof rewrite {{instance}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'AOF enabled and loading',
    description: 'appendonly of each node, and 1 while a node loads its data at start.',
    min: 0,
    max: 1,
    queries: [
      { expr: `${M.aofEnabled}{${J}}`, legend: 'aof {{instance}}' },
      { expr: `${M.loadingDumpFile}{${J}}`, legend: 'loading {{instance}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Changes since last save',
    description: 'Writes a crash would lose on a node that persists with RDB only.',
    queries: [{ expr: `${M.rdbChangesSinceLastSave}{${J}}`, legend: '{{instance}}' }],
  },
];

/** The cluster overview: state, slots, shards, traffic, memory, clients, replication and persistence. */
export const clusterOverview: DashboardSpec = {
  uid: 'slotforge-cluster',
  title: 'slotforge / Redis Cluster overview',
  description: 'Redis Cluster health from redis_exporter sidecars: state, slots, shards, traffic, memory, replication.',
  tags: ['slotforge', 'redis', 'redis-cluster'],
  jobMetric: M.up,
  rows: [
    { title: 'Cluster', panels: clusterRow },
    { title: 'Shards', panels: shardsRow },
    { title: 'Traffic and latency', panels: trafficRow },
    { title: 'Memory', panels: memoryRow },
    { title: 'Clients', panels: clientsRow },
    { title: 'Replication', panels: replicationRow },
    { title: 'Persistence', panels: persistenceRow },
  ],
};
