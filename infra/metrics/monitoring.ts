import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';

/** Alert rule of the PrometheusRule. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/**
 * Alerts for a RedisCluster, on redis_exporter metrics, scoped to the cluster's own Service (the `service` label the
 * Prometheus Operator adds to every target).
 */
export function clusterAlertRules(serviceName: string): AlertRule[] {
  const sel = `service="${serviceName}"`;
  const rule = (alert: string, expr: string, forDuration: string, severity: string, summary: string): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary },
  });
  return [
    rule(
      'RedisClusterDown',
      `min(redis_cluster_state{${sel}}) == 0`,
      '1m',
      'critical',
      'A member reports cluster_state:fail',
    ),
    rule(
      'RedisClusterSlotsFailing',
      `max(redis_cluster_slots_fail{${sel}}) > 0`,
      '1m',
      'critical',
      'Slots are in FAIL state',
    ),
    rule('RedisInstanceDown', `redis_up{${sel}} == 0`, '2m', 'warning', 'The exporter cannot reach its Redis'),
    rule(
      'RedisReplicaLinkDown',
      `redis_master_link_up{${sel}} == 0`,
      '2m',
      'warning',
      'A replica has lost its master link; its shard cannot fail over safely',
    ),
    rule(
      'RedisMemoryNearLimit',
      `redis_memory_used_bytes{${sel}} / (redis_memory_max_bytes{${sel}} > 0) > 0.9`,
      '5m',
      'warning',
      'Used memory is above 90% of maxmemory: evictions (cache) or OOM errors (store) follow',
    ),
  ];
}

export interface MonitoringProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Labels of the Service exposing the `metrics` port. */
  readonly serviceSelector: Record<string, string>;
  readonly serviceName: string;
  /** Alert rules of the PrometheusRule. @default clusterAlertRules(serviceName) */
  readonly rules?: readonly AlertRule[];
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

/** A Prometheus Operator PrometheusRule with `rules` (by default {@link clusterAlertRules}). */
export function prometheusRule(scope: Construct, id: string, props: MonitoringProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: props.name, labels: props.labels },
    spec: { groups: [{ name: `${props.name}.rules`, rules: props.rules ?? clusterAlertRules(props.serviceName) }] },
  });
}
