import { type App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { RedisMonitoring } from './dashboards/index.ts';
import { addSentinelExample, RedisCluster } from './infra/index.ts';

/** Options of {@link defaultCharts}: what `main.ts` synthesizes, and what scaling it by hand changes. */
export interface DefaultChartsOptions {
  /** @default 3 */
  readonly shards?: number;
  /** Shards being drained before a scale-in (RedisCluster `retiringShards`). @default 0 */
  readonly retiringShards?: number;
  /** Also synthesize the RedisSentinel example chart. @default true */
  readonly sentinelExample?: boolean;
}

/**
 * The default deployment, sized for kind (one node, a few GiB of RAM): 3 shards x 1 replica, 256Mi per member,
 * preferred anti-affinity because kind has a single node, 1Gi volumes from kind's default StorageClass; its
 * dashboards and alerts; and the RedisSentinel example. `main.ts` synthesizes it; the chaos suite re-synthesizes it
 * with other shard counts to scale the running deployment as a user editing `main.ts` would.
 */
export function defaultCharts(app: App, options: DefaultChartsOptions = {}): void {
  // The Namespace is cluster-scoped, so it lives in a chart without a namespace; it is synthesized first.
  const namespaceChart = new Chart(app, 'namespace');
  new k8s.KubeNamespace(namespaceChart, 'namespace', { metadata: { name: 'slotforge' } });
  const chart = new Chart(app, 'slotforge', { namespace: 'slotforge' });
  chart.addDependency(namespaceChart);
  new RedisCluster(chart, 'redis', {
    shards: options.shards ?? 3,
    ...(options.retiringShards ? { retiringShards: options.retiringShards } : {}),
    replicasPerShard: 1,
    profile: 'store',
    resources: { memoryLimit: '256Mi', cpuRequest: '100m' },
    storage: { size: '1Gi' },
    antiAffinity: 'preferred',
  });
  // Dashboards as ConfigMaps for the Grafana sidecar, alerts as a PrometheusRule (docs/monitoring.md).
  new RedisMonitoring(chart, 'monitoring');
  // The RedisSentinel example (docs/sentinel-setup.md): one primary, 2 replicas and 3 sentinels named `sessions` in
  // namespace `slotforge-sentinel`; its Namespace joins the namespace chart.
  if (options.sentinelExample ?? true) addSentinelExample(app, { namespaceChart });
}
