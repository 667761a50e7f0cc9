import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { type AlertDeployment, type PrometheusAlertingRule, prometheusRuleGroups } from '../../dashboards/alerts.ts';

/**
 * The slotforge alerts for one deployment, scoped to its exporters: with a ServiceMonitor the Prometheus Operator sets
 * each target's `job` to the scraped Service's name. The rules are defined once, in `dashboards/alerts.ts`; this only
 * picks the deployment's set (no client alerts: those belong to the applications' jobs, see `RedisMonitoring`).
 */
export function deploymentAlertRules(
  serviceName: string,
  deployment: AlertDeployment,
  groupName = `${serviceName}.rules`,
): { groups: Array<{ name: string; rules: PrometheusAlertingRule[] }> } {
  // A Service name is a DNS label (lower-case letters, digits, '-'): a regex that matches only itself.
  return prometheusRuleGroups({ job: serviceName, deployment, clientAlerts: false, groupName });
}

export interface MonitoringProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Labels of the Service exposing the `metrics` port. */
  readonly serviceSelector: Record<string, string>;
  readonly serviceName: string;
  /** Which alerts the PrometheusRule carries (see {@link deploymentAlertRules}). @default 'cluster' */
  readonly deployment?: AlertDeployment;
}

/** A Prometheus Operator ServiceMonitor scraping the `metrics` port. */
export function serviceMonitor(scope: Construct, id: string, props: MonitoringProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: props.name, labels: props.labels },
    spec: {
      selector: { matchLabels: props.serviceSelector },
      endpoints: [{ port: 'metrics', interval: '15s' }],
    },
  });
}

/** A Prometheus Operator PrometheusRule with the deployment's alerts ({@link deploymentAlertRules}). */
export function prometheusRule(scope: Construct, id: string, props: MonitoringProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: props.name, labels: props.labels },
    spec: deploymentAlertRules(props.serviceName, props.deployment ?? 'cluster', `${props.name}.rules`),
  });
}
