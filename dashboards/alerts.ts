import { stringify } from 'yaml';
import { CLIENT_METRICS, EXPORTER_METRICS as M, PROMETHEUS_METRICS } from './metric-names.ts';

/**
 * The alerts slotforge ships, for both deployments (see {@link AlertOptions.deployment}). Each has a runbook section
 * of the same name in docs/monitoring.md. This file is the one definition of them: the rules file, the
 * `RedisMonitoring` PrometheusRule and the per-deployment PrometheusRules of `RedisCluster` and `RedisSentinel`
 * (`infra/metrics/monitoring.ts`) are all generated from {@link alertDefinitions}.
 */
export const ALERT_NAMES = [
  'RedisClusterStateNotOk',
  'RedisClusterSlotsFailing',
  'RedisInstanceDown',
  'RedisClusterNodeMissing',
  'RedisMasterLinkDown',
  'RedisShardWithoutReplica',
  'RedisMemoryNearMax',
  'RedisEvictionSurge',
  'RedisRejectedConnections',
  'RedisExporterDown',
  'RedisPersistenceErrors',
  'SlotforgeClientErrorRate',
  'RedisSentinelNoPrimary',
] as const;

export type AlertName = (typeof ALERT_NAMES)[number];

/** What the alerts watch: a Redis Cluster, or one primary with replicas managed by Sentinel. */
export type AlertDeployment = 'cluster' | 'sentinel';

/** Alerts that only make sense on a Redis Cluster (CLUSTER INFO metrics). */
const CLUSTER_ONLY: ReadonlySet<AlertName> = new Set([
  'RedisClusterStateNotOk',
  'RedisClusterSlotsFailing',
  'RedisClusterNodeMissing',
]);
/** Alerts that only make sense on a Sentinel deployment. */
const SENTINEL_ONLY: ReadonlySet<AlertName> = new Set(['RedisSentinelNoPrimary']);
/** Alerts on the applications' jobs (the slotforge client's metrics), not on the exporters'. */
const CLIENT_ALERTS: ReadonlySet<AlertName> = new Set(['SlotforgeClientErrorRate']);

/** Options of the alert rules. */
export interface AlertOptions {
  /**
   * The deployment the exporters belong to. `cluster` leaves out RedisSentinelNoPrimary; `sentinel` leaves out the
   * CLUSTER INFO alerts (RedisClusterStateNotOk, RedisClusterSlotsFailing, RedisClusterNodeMissing).
   * @default 'cluster'
   */
  readonly deployment?: AlertDeployment;
  /**
   * Include the alerts on the slotforge client's metrics (SlotforgeClientErrorRate), which watch every application
   * job. A per-deployment rule set (a RedisCluster's own PrometheusRule) leaves them out so that two clusters in one
   * Prometheus do not raise each client alert twice.
   * @default true
   */
  readonly clientAlerts?: boolean;
  /**
   * Regex of the Prometheus `job` label of the redis_exporter targets. With a ServiceMonitor the job is the Service's
   * name; the default matches any job with `redis` in its name.
   * @default '.*redis.*'
   */
  readonly job?: string;
  /**
   * Replaces the `for` of every alert (tests use `0s` so an alert fires on its first true evaluation).
   * @default each alert's own duration
   */
  readonly for?: string;
  /**
   * Used memory over maxmemory above which RedisMemoryNearMax fires. Nodes without maxmemory never fire.
   * @default 0.9
   */
  readonly memoryRatio?: number;
  /**
   * Evicted keys per second per node above which RedisEvictionSurge fires.
   * @default 100
   */
  readonly evictionsPerSecond?: number;
  /**
   * Client errors per second (per job and code) above which SlotforgeClientErrorRate fires.
   * @default 1
   */
  readonly clientErrorsPerSecond?: number;
  /**
   * Where docs/monitoring.md is published; each alert's `runbook_url` is this plus `#<alert name in lower case>`.
   * @default 'https://github.com/slotforge/slotforge/blob/main/docs/monitoring.md'
   */
  readonly runbookBaseUrl?: string;
  /**
   * Name of the rule group.
   * @default 'slotforge.rules'
   */
  readonly groupName?: string;
}

/** Options with every default filled in. */
export type ResolvedAlertOptions = Required<Omit<AlertOptions, 'for'>> & { readonly for: string | undefined };

/** @internal */
export function resolveAlertOptions(options: AlertOptions = {}): ResolvedAlertOptions {
  const resolved = {
    deployment: options.deployment ?? 'cluster',
    clientAlerts: options.clientAlerts ?? true,
    job: options.job ?? '.*redis.*',
    for: options.for,
    memoryRatio: options.memoryRatio ?? 0.9,
    evictionsPerSecond: options.evictionsPerSecond ?? 100,
    clientErrorsPerSecond: options.clientErrorsPerSecond ?? 1,
    runbookBaseUrl: options.runbookBaseUrl ?? 'https://github.com/slotforge/slotforge/blob/main/docs/monitoring.md',
    groupName: options.groupName ?? 'slotforge.rules',
  };
  if (resolved.deployment !== 'cluster' && resolved.deployment !== 'sentinel') {
    throw new RangeError(`alerts: deployment must be 'cluster' or 'sentinel' (got '${String(resolved.deployment)}')`);
  }
  if (!(resolved.memoryRatio > 0 && resolved.memoryRatio <= 1)) {
    throw new RangeError(`alerts: memoryRatio must be in (0, 1] (got ${resolved.memoryRatio})`);
  }
  for (const key of ['evictionsPerSecond', 'clientErrorsPerSecond'] as const) {
    if (!(resolved[key] >= 0)) throw new RangeError(`alerts: ${key} must be >= 0 (got ${resolved[key]})`);
  }
  if (resolved.for !== undefined && !/^(\d+(ms|s|m|h|d|w|y))+$/.test(resolved.for)) {
    throw new RangeError(`alerts: for must be a Prometheus duration such as 0s or 5m (got '${resolved.for}')`);
  }
  return resolved;
}

/** One alert, with its expression split so tests and docs can show the watched value on its own. */
export interface AlertDefinition {
  readonly alert: AlertName;
  /** The PromQL whose value the alert watches; it returns a series for every scraped target, firing or not. */
  readonly signal: string;
  /** What turns the signal into an alert, appended to it: `== 0`, `> 0.9`. */
  readonly condition: string;
  /** `(signal) condition`. */
  readonly expr: string;
  readonly for: string;
  readonly severity: 'critical' | 'warning';
  readonly summary: string;
  readonly description: string;
  readonly runbookUrl: string;
}

type Draft = Omit<AlertDefinition, 'expr' | 'runbookUrl' | 'for'> & { readonly for: string };

/** The alert definitions of the deployment, in {@link ALERT_NAMES} order. */
export function alertDefinitions(options: AlertOptions = {}): AlertDefinition[] {
  const o = resolveAlertOptions(options);
  const sel = (extra = '') => `{job=~"${o.job}"${extra ? `, ${extra}` : ''}}`;
  const drafts: Draft[] = [
    {
      alert: 'RedisClusterStateNotOk',
      signal: `${M.clusterState}${sel()}`,
      condition: '== 0',
      for: '1m',
      severity: 'critical',
      summary: 'Redis Cluster state is fail on {{ $labels.instance }}',
      description:
        'CLUSTER INFO reports cluster_state:fail on {{ $labels.instance }}: with full coverage required, every command gets CLUSTERDOWN.',
    },
    {
      alert: 'RedisClusterSlotsFailing',
      signal: `${M.clusterSlotsFail}${sel()} + ${M.clusterSlotsPfail}${sel()}`,
      condition: '> 0',
      for: '1m',
      severity: 'critical',
      summary: '{{ $value }} slots in FAIL or PFAIL seen from {{ $labels.instance }}',
      description: 'Slots whose master is unreachable (PFAIL) or agreed down (FAIL) and not yet failed over.',
    },
    {
      alert: 'RedisInstanceDown',
      signal: `${M.up}${sel()}`,
      condition: '== 0',
      for: '30s',
      severity: 'critical',
      summary: 'Redis on {{ $labels.instance }} does not answer its exporter',
      description: 'The exporter runs but cannot reach its Redis: the process died, restarts, or refuses the password.',
    },
    {
      alert: 'RedisClusterNodeMissing',
      // On Kubernetes a deleted pod takes its exporter sidecar with it: its series vanish instead of turning 0, so
      // RedisInstanceDown stays silent. The cluster still knows the node, so compare what it knows with what answers.
      signal: `max by (job) (${M.clusterKnownNodes}${sel()}) - count by (job) (${M.up}${sel()} == 1)`,
      condition: '> 0',
      for: '1m',
      severity: 'warning',
      summary: '{{ $value }} cluster member(s) known to the cluster are not reporting in {{ $labels.job }}',
      description:
        'CLUSTER INFO counts more nodes than exporters reach: a pod is gone or its Redis is down (also when the pod and its exporter vanished).',
    },
    {
      alert: 'RedisMasterLinkDown',
      signal: `${M.masterLinkUp}${sel()}`,
      condition: '== 0',
      for: '1m',
      severity: 'warning',
      summary: 'Replica {{ $labels.instance }} lost its link to {{ $labels.master_host }}:{{ $labels.master_port }}',
      description: 'The replica is not receiving the replication stream: its data ages and it may refuse to fail over.',
    },
    {
      alert: 'RedisShardWithoutReplica',
      signal: `${M.connectedReplicas}${sel()} and on (instance) ${M.instanceInfo}${sel('role="master"')}`,
      condition: '== 0',
      for: '5m',
      severity: 'warning',
      summary: 'Master {{ $labels.instance }} has no connected replica',
      description: 'Its shard cannot fail over: losing this node loses its slots (and their data without persistence).',
    },
    {
      alert: 'RedisMemoryNearMax',
      signal: `${M.memoryUsedBytes}${sel()} / (${M.memoryMaxBytes}${sel()} > 0)`,
      condition: `> ${o.memoryRatio}`,
      for: '5m',
      severity: 'warning',
      summary: '{{ $labels.instance }} uses {{ $value | humanizePercentage }} of maxmemory',
      description: 'Close to maxmemory the node evicts keys or, with noeviction, rejects writes with OOM errors.',
    },
    {
      alert: 'RedisEvictionSurge',
      signal: `rate(${M.evictedKeys}${sel()}[5m])`,
      condition: `> ${o.evictionsPerSecond}`,
      for: '5m',
      severity: 'warning',
      summary: '{{ $labels.instance }} evicts {{ $value | humanize }} keys/s',
      description: 'The working set does not fit: hit ratio drops and loaders run more often.',
    },
    {
      alert: 'RedisRejectedConnections',
      signal: `increase(${M.rejectedConnections}${sel()}[5m])`,
      condition: '> 0',
      for: '0s',
      severity: 'warning',
      summary: '{{ $labels.instance }} rejected connections: maxclients reached',
      description: 'maxclients was reached: new clients (and reconnecting ones) are refused.',
    },
    {
      alert: 'RedisExporterDown',
      signal: `${PROMETHEUS_METRICS.up}${sel()}`,
      condition: '== 0',
      for: '1m',
      severity: 'warning',
      summary: 'Prometheus cannot scrape {{ $labels.instance }}',
      description: 'The redis_exporter sidecar is down or unreachable: every other Redis alert is blind for this node.',
    },
    {
      alert: 'RedisPersistenceErrors',
      signal: `${M.rdbLastBgsaveStatus}${sel()} * ${M.aofLastWriteStatus}${sel()} * ${M.aofLastBgrewriteStatus}${sel()}`,
      condition: '== 0',
      for: '1m',
      severity: 'critical',
      summary: 'Persistence is failing on {{ $labels.instance }}',
      description:
        'The last RDB save, AOF write or AOF rewrite failed: a restart loses data, and Redis may refuse writes.',
    },
    {
      alert: 'SlotforgeClientErrorRate',
      signal: `sum by (job, code) (rate(${CLIENT_METRICS.errors}[5m]))`,
      condition: `> ${o.clientErrorsPerSecond}`,
      for: '5m',
      severity: 'warning',
      summary: 'Clients of {{ $labels.job }} raise {{ $value | humanize }} {{ $labels.code }} errors/s',
      description: 'The slotforge client reports errors by code; the code tells which runbook step applies.',
    },
    {
      alert: 'RedisSentinelNoPrimary',
      // `or ... * 0`: with no master at all `count` returns nothing, and an alert on nothing never fires.
      signal: `count by (job) (${M.instanceInfo}${sel('role="master"')}) or count by (job) (${M.instanceInfo}${sel()}) * 0`,
      condition: '!= 1',
      for: '1m',
      severity: 'critical',
      summary: '{{ $value }} data pods of {{ $labels.job }} report role master',
      description:
        'A Sentinel deployment needs exactly one primary: 0 means writes fail (a failover is stuck), 2 means split brain.',
    },
  ];
  const wanted = (alert: AlertName) =>
    (o.deployment === 'cluster' ? !SENTINEL_ONLY.has(alert) : !CLUSTER_ONLY.has(alert)) &&
    (o.clientAlerts || !CLIENT_ALERTS.has(alert));
  return drafts
    .filter((d) => wanted(d.alert))
    .map((d) => ({
      ...d,
      for: o.for ?? d.for,
      expr: `(${d.signal}) ${d.condition}`,
      runbookUrl: `${o.runbookBaseUrl}#${d.alert.toLowerCase()}`,
    }));
}

/** A Prometheus alerting rule as it appears in a rules file and in a PrometheusRule's spec. */
export interface PrometheusAlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The rule groups (`{ groups: [...] }`), the shape of both a rules file and a PrometheusRule's spec. */
export function prometheusRuleGroups(options: AlertOptions = {}): {
  groups: Array<{ name: string; rules: PrometheusAlertingRule[] }>;
} {
  const o = resolveAlertOptions(options);
  const rules = alertDefinitions(options).map((a) => ({
    alert: a.alert,
    expr: a.expr,
    for: a.for,
    labels: { severity: a.severity },
    annotations: { summary: a.summary, description: a.description, runbook_url: a.runbookUrl },
  }));
  return { groups: [{ name: o.groupName, rules }] };
}

/** A Prometheus rules file (YAML) with the alerts, for `rule_files:` or `promtool check rules`. */
export function prometheusRulesFile(options: AlertOptions = {}): string {
  return `# Generated by dashboards/alerts.ts: edit that file, then run \`npx tsx dashboards/generate.ts\`.\n${stringify(
    prometheusRuleGroups(options),
    { lineWidth: 0 },
  )}`;
}
