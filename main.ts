import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { RedisMonitoring } from './dashboards/index.ts';
import { addSentinelExample, RedisCluster } from './infra/index.ts';

// The default deployment, sized for kind (one node, a few GiB of RAM): 3 shards x 1 replica, 256Mi per member,
// preferred anti-affinity because kind has a single node, 1Gi volumes from kind's default StorageClass.
const app = new App({ outdir: 'dist' });
// The Namespace is cluster-scoped, so it lives in a chart without a namespace; it is synthesized first.
const namespaceChart = new Chart(app, 'namespace');
new k8s.KubeNamespace(namespaceChart, 'namespace', { metadata: { name: 'slotforge' } });
const chart = new Chart(app, 'slotforge', { namespace: 'slotforge' });
chart.addDependency(namespaceChart);
new RedisCluster(chart, 'redis', {
  shards: 3,
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
addSentinelExample(app, { namespaceChart });
app.synth();
