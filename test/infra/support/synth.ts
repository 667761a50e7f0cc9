import { Chart, Testing } from 'cdk8s';
import { RedisCluster, type RedisClusterProps, RedisSentinel, type RedisSentinelProps } from '../../../infra/index.ts';

/** A Kubernetes object as synthesized. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON
export type Manifest = Record<string, any>;

/** Synthesizes one RedisCluster in a fresh chart and returns its objects. */
export function synthCluster(props: RedisClusterProps = {}, id = 'rc'): Manifest[] {
  const app = Testing.app();
  const chart = new Chart(app, 'test', { namespace: 'ns' });
  new RedisCluster(chart, id, props);
  return Testing.synth(chart) as Manifest[];
}

/** Synthesizes one RedisSentinel in a fresh chart (namespace `ns`) and returns its objects. */
export function synthSentinel(props: RedisSentinelProps = {}, id = 'rs'): Manifest[] {
  const app = Testing.app();
  const chart = new Chart(app, 'test', { namespace: 'ns' });
  new RedisSentinel(chart, id, props);
  return Testing.synth(chart) as Manifest[];
}

export function objectsOfKind(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

/** The data of the member ConfigMap (redis.conf, acl-users.conf, scripts). */
export function memberConfig(objects: readonly Manifest[]): Record<string, string> {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['redis.conf'] !== undefined);
  if (!cm) throw new Error('no member ConfigMap');
  return cm.data as Record<string, string>;
}
