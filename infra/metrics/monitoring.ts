import { type ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { type AlertDeployment, type PrometheusAlertingRule, prometheusRuleGroups } from '../../dashboards/index.ts';
import { customResource } from '../custom-resource.ts';
import { check } from '../errors.ts';

const SERVICE_MONITOR = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' } as const;
const PROMETHEUS_RULE = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' } as const;

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

/**
 * What a Prometheus Operator needs to know of a deployment to scrape it and alert on it: plain data, so the
 * ServiceMonitor and PrometheusRule can live in another chart or another cdk8s App (the walkthrough synthesizes them
 * into `dist/monitoring/`, applied only where kube-prometheus-stack is installed). Every RedisCluster and
 * RedisSentinel with the exporter on exposes one as `monitoringTarget`.
 */
export interface MonitoringTarget extends MonitoringProps {
  /** Namespace of the deployment: a ServiceMonitor selects Services of its own namespace. */
  readonly namespace: string | undefined;
  readonly deployment: AlertDeployment;
}

/** A Prometheus Operator ServiceMonitor scraping the `metrics` port. */
export function serviceMonitor(scope: Construct, id: string, props: MonitoringProps): ApiObject {
  return customResource(scope, id, SERVICE_MONITOR, props, {
    selector: { matchLabels: props.serviceSelector },
    endpoints: [{ port: 'metrics', interval: '15s' }],
  });
}

/** A Prometheus Operator PrometheusRule with the deployment's alerts ({@link deploymentAlertRules}). */
export function prometheusRule(scope: Construct, id: string, props: MonitoringProps): ApiObject {
  return customResource(
    scope,
    id,
    PROMETHEUS_RULE,
    props,
    deploymentAlertRules(props.serviceName, props.deployment ?? 'cluster', `${props.name}.rules`),
  );
}

/** Properties of an {@link OperatorMonitoring}. */
export interface OperatorMonitoringProps {
  /** The deployment to scrape and alert on (`RedisCluster.monitoringTarget`, `RedisSentinel.monitoringTarget`). */
  readonly target: MonitoringTarget;
  /**
   * Also a PrometheusRule with the deployment's alerts, on the ServiceMonitor's job. `false` when `RedisMonitoring`
   * (dashboards/) already carries the alerts for this job: both would raise every alert twice.
   * @default true
   */
  readonly rules?: boolean;
  /**
   * Extra labels of the ServiceMonitor and PrometheusRule. kube-prometheus-stack selects only objects labelled
   * `release: <its Helm release name>` unless installed with `serviceMonitorSelectorNilUsesHelmValues=false` and
   * `ruleSelectorNilUsesHelmValues=false`.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The Prometheus Operator objects of one deployment, together: a ServiceMonitor scraping its exporters and the
 * PrometheusRule alerting on what that ServiceMonitor scrapes (rules without a scrape object have no data). Put it in
 * a chart of its own, applied only on a cluster with the Prometheus Operator's CRDs: `kubectl apply` of a kind whose
 * CRD is not installed exits 1 ("ensure CRDs are installed first").
 * @see https://prometheus-operator.dev/docs/api-reference/api/
 */
export class OperatorMonitoring extends Construct {
  readonly serviceMonitor: ApiObject;
  readonly prometheusRule?: ApiObject;

  constructor(scope: Construct, id: string, props: OperatorMonitoringProps) {
    super(scope, id);
    const { target } = props;
    const namespace = Chart.of(this).namespace;
    check(
      namespace === target.namespace,
      `OperatorMonitoring '${id}'`,
      'target',
      `must be in the chart's namespace '${namespace}' (a ServiceMonitor selects Services of its own namespace)`,
      target.namespace,
    );
    const monitoring = { ...target, labels: { ...target.labels, ...props.labels } };
    this.serviceMonitor = serviceMonitor(this, 'ServiceMonitor', monitoring);
    if (props.rules ?? true) this.prometheusRule = prometheusRule(this, 'PrometheusRule', monitoring);
  }
}
