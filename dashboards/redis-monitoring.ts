import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { type AlertOptions, prometheusRuleGroups } from './alerts.ts';
import { buildDashboards, dashboardJson } from './dashboards.ts';

/** Properties of a {@link RedisMonitoring}. */
export interface RedisMonitoringProps {
  /**
   * Namespace of the ConfigMaps and the PrometheusRule. The Grafana sidecar of kube-prometheus-stack watches every
   * namespace only with `grafana.sidecar.dashboards.searchNamespace: ALL`; otherwise put them in Grafana's namespace.
   * @default the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Prefix of the object names: `<prefix>-dashboard-cluster`, `<prefix>-dashboard-client`, `<prefix>-alerts`.
   * @default 'slotforge'
   */
  readonly namePrefix?: string;
  /**
   * Labels that make the Grafana dashboard sidecar load the ConfigMaps.
   * @default { grafana_dashboard: '1' } (the sidecar's default `label` and `labelValue`)
   */
  readonly dashboardLabels?: Readonly<Record<string, string>>;
  /**
   * Grafana folder for the dashboards, set as the `grafana_folder` annotation (the sidecar's `folderAnnotation` in
   * kube-prometheus-stack). @default no annotation: the sidecar's default folder
   */
  readonly grafanaFolder?: string;
  /**
   * Synthesize the alerts as a PrometheusRule (needs the Prometheus Operator's CRDs); `false` leaves it out.
   * @default true
   */
  readonly alerts?: boolean;
  /** Options of the alert rules (job regex, thresholds, runbook URL). @default the defaults of AlertOptions */
  readonly alertOptions?: AlertOptions;
  /**
   * Labels of the PrometheusRule. kube-prometheus-stack only loads rules matching its `ruleSelector`, by default
   * `release: <helm release name>`. @default { 'app.kubernetes.io/part-of': 'slotforge' }
   */
  readonly ruleLabels?: Readonly<Record<string, string>>;
}

const PART_OF = { 'app.kubernetes.io/part-of': 'slotforge' } as const;

/**
 * The dashboards as ConfigMaps for the Grafana dashboard sidecar, and the alerts as a PrometheusRule
 * (`monitoring.coreos.com/v1`) for the Prometheus Operator.
 *
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/kube-prometheus-stack
 */
export class RedisMonitoring extends Construct {
  readonly namePrefix: string;
  /** The dashboard ConfigMaps by short name (`cluster`, `client`). */
  readonly dashboardConfigMaps: Readonly<Record<string, k8s.KubeConfigMap>>;
  /** The PrometheusRule, unless `alerts` is false. */
  readonly prometheusRule: ApiObject | undefined;

  constructor(scope: Construct, id: string, props: RedisMonitoringProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? 'slotforge';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.namePrefix) || this.namePrefix.length > 40) {
      throw new Error(
        `RedisMonitoring '${id}': namePrefix must be a DNS label of at most 40 characters (got '${this.namePrefix}')`,
      );
    }
    const dashboardLabels = props.dashboardLabels ?? { grafana_dashboard: '1' };
    if (Object.keys(dashboardLabels).length === 0) {
      throw new Error(`RedisMonitoring '${id}': dashboardLabels must not be empty, or the sidecar never finds them`);
    }
    const configMaps: Record<string, k8s.KubeConfigMap> = {};
    for (const dashboard of buildDashboards()) {
      configMaps[dashboard.name] = new k8s.KubeConfigMap(this, `dashboard-${dashboard.name}`, {
        metadata: {
          name: `${this.namePrefix}-dashboard-${dashboard.name}`,
          namespace: props.namespace,
          labels: { ...PART_OF, ...dashboardLabels },
          annotations: props.grafanaFolder ? { grafana_folder: props.grafanaFolder } : undefined,
        },
        data: { [dashboard.fileName]: dashboardJson(dashboard.model) },
      });
    }
    this.dashboardConfigMaps = configMaps;
    if (props.alerts ?? true) {
      // kubernetes-models has no PrometheusRule type: the spec is the rules-file shape, checked by promtool in tests.
      this.prometheusRule = new ApiObject(this, 'Resource', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: {
          name: `${this.namePrefix}-alerts`,
          namespace: props.namespace,
          labels: { ...PART_OF, ...(props.ruleLabels ?? {}) },
        },
        spec: prometheusRuleGroups(props.alertOptions),
      });
    }
  }
}
