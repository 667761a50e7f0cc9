import { type App, Chart } from 'cdk8s';
import { restrictedNamespace } from '../security/index.ts';
import { RedisSentinel } from './redis-sentinel.ts';

/** Namespace of the Sentinel example chart. */
export const SENTINEL_EXAMPLE_NAMESPACE = 'slotforge-sentinel';

/**
 * Adds the Sentinel example chart to an app: one primary with 2 replicas and 3 sentinels named `sessions` in namespace
 * `slotforge-sentinel`, sized for kind like the cluster example (256Mi per data pod, 1Gi volumes, preferred
 * anti-affinity on a single node). With `namespaceChart` (the app's chart of cluster-scoped objects) the Namespace is
 * added there and the example chart depends on it; without, the namespace must exist.
 */
export function addSentinelExample(app: App, options: { readonly namespaceChart?: Chart } = {}): Chart {
  if (options.namespaceChart) {
    restrictedNamespace(options.namespaceChart, 'sentinel-namespace', SENTINEL_EXAMPLE_NAMESPACE);
  }
  const chart = new Chart(app, 'slotforge-sentinel', { namespace: SENTINEL_EXAMPLE_NAMESPACE });
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
