import type { ApiObject } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { EvictionPolicy, MemoryPlan, RedisProfile, ResolvedPersistence } from '../config/index.ts';
import type { MonitoringTarget } from '../metrics/index.ts';
import type { ResolvedDataProps } from './data-props.ts';
import type { DataMonitoring } from './objects.ts';

/**
 * What every construct of Redis data pods exposes of its resolved {@link RedisDataProps}: the base of RedisCluster
 * and RedisSentinel.
 */
export abstract class RedisDataConstruct extends Construct {
  readonly profile: RedisProfile;
  readonly image: string;
  readonly port: number;
  readonly persistence: ResolvedPersistence;
  readonly evictionPolicy: EvictionPolicy;
  readonly memory: MemoryPlan;
  /** Labels of every object: `app.kubernetes.io/name` (the kind of deployment), `instance` (its name), `managed-by`. */
  readonly labels: Record<string, string>;
  /** The PodDisruptionBudgets, one per group of pods that must not lose two at once. */
  readonly disruptionBudgets: k8s.KubePodDisruptionBudget[] = [];
  /** The monitoring objects the subclass made ({@link dataMonitoring}). */
  protected abstract readonly dataMonitoring: DataMonitoring;

  /** `app` is the `app.kubernetes.io/name` label of the deployment's objects (`redis-cluster`, `redis-sentinel`). */
  protected constructor(
    scope: Construct,
    id: string,
    app: string,
    resolved: ResolvedDataProps & { readonly name: string; readonly port: number },
  ) {
    super(scope, id);
    this.labels = {
      'app.kubernetes.io/name': app,
      'app.kubernetes.io/instance': resolved.name,
      'app.kubernetes.io/managed-by': 'slotforge',
    };
    this.profile = resolved.profileName;
    this.image = resolved.image;
    this.port = resolved.port;
    this.persistence = resolved.persistence;
    this.evictionPolicy = resolved.evictionPolicy;
    this.memory = resolved.memory;
  }

  /**
   * What an {@link OperatorMonitoring} in another chart needs to scrape this deployment's exporters and alert on
   * them; undefined without the exporter.
   */
  get monitoringTarget(): MonitoringTarget | undefined {
    return this.dataMonitoring.monitoringTarget;
  }

  /** The ServiceMonitor in the deployment's own chart (`metrics.serviceMonitor`). */
  get serviceMonitor(): ApiObject | undefined {
    return this.dataMonitoring.serviceMonitor;
  }

  /** The PrometheusRule in the deployment's own chart (`metrics.prometheusRule`). */
  get prometheusRule(): ApiObject | undefined {
    return this.dataMonitoring.prometheusRule;
  }
}
