import { type App, Chart } from 'cdk8s';
import { RedisSentinel } from './redis-sentinel.ts';

/**
 * Adds the Sentinel example chart to an app: namespace `slotforge-sentinel` (created by the namespace chart the caller
 * passes, or expected to exist), one primary with 2 replicas and 3 sentinels, sized for kind like the cluster example
 * (256Mi per data pod, 1Gi volumes, preferred anti-affinity on a single node).
 */
export function addSentinelExample(app: App, options: { namespaceChart?: Chart } = {}): Chart {
  const chart = new Chart(app, 'slotforge-sentinel', { namespace: 'slotforge-sentinel' });
  if (options.namespaceChart) chart.addDependency(options.namespaceChart);
  new RedisSentinel(chart, 'sessions', {
    replicas: 2,
    sentinels: 3,
    profile: 'store',
    resources: { memoryLimit: '256Mi', cpuRequest: '100m' },
    storage: { size: '1Gi' },
    antiAffinity: 'preferred',
  });
  return chart;
}
