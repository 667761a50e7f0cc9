/**
 * `slotforge monitor`'s stack: a real Prometheus (and a redis_exporter per node without a sidecar) on the host,
 * scraping a running deployment with the slotforge alerts loaded, and a client of Prometheus's HTTP API. The
 * dashboards' proof (test/cli/monitor/stack.test.ts) runs this same stack, so the queries are proven against the
 * Prometheus configuration users get.
 */
export {
  type ExporterTarget,
  type LocalExporter,
  type LocalMonitor,
  type LocalMonitorOptions,
  type MonitoredNode,
  prometheusConfig,
  REDIS_JOB,
  startLocalMonitor,
} from './local-stack.ts';
export {
  type ActiveAlert,
  type InstantSample,
  PrometheusApi,
  PrometheusApiError,
  type ScrapeTarget,
} from './prometheus-api.ts';
