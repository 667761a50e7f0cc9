/** Prometheus metrics on an injected registry, and their names. */
export { createMetrics, type Metrics, noopMetrics } from './metrics.ts';
export { LOADER_BUCKETS_SECONDS, METRIC_LABELS, METRIC_NAMES } from './names.ts';
