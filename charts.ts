import { type App, Chart } from 'cdk8s';
import { RedisMonitoring } from './dashboards/index.ts';
import {
  addSentinelExample,
  OperatorMonitoring,
  RedisCluster,
  RedisSentinel,
  restrictedNamespace,
} from './infra/index.ts';

/** Options of {@link defaultCharts}: what `main.ts` synthesizes, and what scaling it by hand changes. */
export interface DefaultChartsOptions {
  /** @default 3 */
  readonly shards?: number;
  /** Shards being drained before a scale-in (RedisCluster `retiringShards`). @default 0 */
  readonly retiringShards?: number;
  /** Also synthesize the RedisSentinel example chart. @default true */
  readonly sentinelExample?: boolean;
  /** Memory limit of each member (maxmemory follows it). @default '256Mi' */
  readonly memoryLimit?: string;
  /** Replicas of each shard's master. @default 1 */
  readonly replicasPerShard?: number;
}

/** The deployments {@link defaultCharts} made, for {@link monitoringCharts}. */
export interface DefaultDeployments {
  readonly cluster: RedisCluster;
  readonly sentinel?: RedisSentinel;
}

/**
 * The default deployment, sized for kind (one node, a few GiB of RAM): 3 shards x 1 replica, 256Mi per member,
 * preferred anti-affinity because kind has a single node, 1Gi volumes from kind's default StorageClass; and the
 * RedisSentinel example. Only kinds a bare cluster knows (no CRD): `kubectl apply -f dist/` exits 0 on a fresh kind.
 * The dashboards and the Prometheus Operator objects are {@link monitoringCharts}. `main.ts` synthesizes it; the
 * chaos suite re-synthesizes it with other shard counts to scale the running deployment as a user editing `main.ts`
 * would.
 */
export function defaultCharts(app: App, options: DefaultChartsOptions = {}): DefaultDeployments {
  // The Namespace is cluster-scoped, so it lives in a chart without a namespace; it is synthesized first.
  const namespaceChart = new Chart(app, 'namespace');
  // Pod Security Admission enforces `restricted` there: every pod of the chart meets it.
  restrictedNamespace(namespaceChart, 'namespace', 'slotforge');
  const chart = new Chart(app, 'slotforge', { namespace: 'slotforge' });
  chart.addDependency(namespaceChart);
  const cluster = new RedisCluster(chart, 'redis', {
    shards: options.shards ?? 3,
    ...(options.retiringShards ? { retiringShards: options.retiringShards } : {}),
    replicasPerShard: options.replicasPerShard ?? 1,
    profile: 'store',
    resources: { memoryLimit: options.memoryLimit ?? '256Mi', cpuRequest: '100m' },
    storage: { size: '1Gi' },
    antiAffinity: 'preferred',
  });
  // The RedisSentinel example (docs/sentinel-setup.md): one primary, 2 replicas and 3 sentinels named `sessions` in
  // namespace `slotforge-sentinel`; its Namespace joins the namespace chart.
  if (!(options.sentinelExample ?? true)) return { cluster };
  const sentinelChart = addSentinelExample(app, { namespaceChart });
  return { cluster, sentinel: sentinelChart.node.findAll().find((c) => c instanceof RedisSentinel) };
}

/**
 * Labels kube-prometheus-stack selects ServiceMonitors and PrometheusRules by when installed as Helm release
 * `kube-prometheus-stack` (its `serviceMonitorSelector`/`ruleSelector` default to `release: <release name>`).
 */
export const KUBE_PROMETHEUS_STACK_LABELS = { release: 'kube-prometheus-stack' } as const;

/**
 * The monitoring of the default deployments, for a cluster with kube-prometheus-stack (Prometheus Operator CRDs and
 * Grafana's dashboard sidecar): the dashboards as ConfigMaps and the alerts (cluster and client) as a PrometheusRule
 * (`RedisMonitoring`), each deployment's ServiceMonitor, and the Sentinel alerts on the Sentinel's own job. `main.ts`
 * writes it to `dist/monitoring/`, which `kubectl apply -f dist/` does not read (no `--recursive`).
 */
export function monitoringCharts(app: App, deployments: DefaultDeployments): void {
  const { cluster, sentinel } = deployments;
  const target = cluster.monitoringTarget;
  if (!target) return;
  const chart = new Chart(app, 'slotforge-monitoring', { namespace: target.namespace });
  // One rule set for the cluster's job plus the client alerts; the ServiceMonitor gives that job its data.
  new RedisMonitoring(chart, 'monitoring', {
    alertOptions: { job: target.serviceName },
    ruleLabels: { 'app.kubernetes.io/part-of': 'slotforge', ...KUBE_PROMETHEUS_STACK_LABELS },
  });
  new OperatorMonitoring(chart, 'redis', { target, rules: false, labels: KUBE_PROMETHEUS_STACK_LABELS });
  const sentinelTarget = sentinel?.monitoringTarget;
  if (!sentinelTarget) return;
  const sentinelChart = new Chart(app, 'slotforge-sentinel-monitoring', { namespace: sentinelTarget.namespace });
  new OperatorMonitoring(sentinelChart, 'sessions', { target: sentinelTarget, labels: KUBE_PROMETHEUS_STACK_LABELS });
}
