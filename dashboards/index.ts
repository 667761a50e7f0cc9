/**
 * slotforge observability: Grafana dashboards and Prometheus alerts as code, and the Kubernetes objects that ship
 * them. The Prometheus `slotforge monitor` runs is the CLI's (cli/monitor/).
 */
export {
  ALERT_NAMES,
  type AlertDefinition,
  type AlertDeployment,
  type AlertName,
  type AlertOptions,
  alertDefinitions,
  type PrometheusAlertingRule,
  prometheusRuleGroups,
  prometheusRulesFile,
} from './alerts.ts';
export {
  type BuiltDashboard,
  buildDashboards,
  DASHBOARD_SPECS,
  dashboardJson,
  dashboardQueries,
} from './dashboards.ts';
export { GENERATED_DIR, generatedFiles, RULES_FILE_NAME } from './generate.ts';
export {
  CLIENT_HISTOGRAMS,
  CLIENT_LABELS,
  CLIENT_METRICS,
  EXPORTER_METRICS,
  histogramSeries,
  knownMetricNames,
  PROMETHEUS_METRICS,
} from './metric-names.ts';
export { buildDashboard, type DashboardSpec, type PanelSpec, type QuerySpec, type RowSpec } from './panels.ts';
export { expandGrafanaVariables, metricNamesIn } from './promql.ts';
export { RedisMonitoring, type RedisMonitoringProps } from './redis-monitoring.ts';
