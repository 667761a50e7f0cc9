import { type RedisConfEntries, renderRedisConf } from '../config/index.ts';
import { confEntries as conf, type DataConfigInput } from '../data-pod/index.ts';

/** What the base redis.conf of a cluster member is made from. */
export interface ClusterConfigInput extends DataConfigInput {
  readonly nodeTimeoutMs: number;
  readonly requireFullCoverage: boolean;
  readonly allowReadsWhenDown: boolean;
  readonly preferredEndpointType: 'ip' | 'hostname';
}

/**
 * The base redis.conf of a cluster member: everything that does not depend on the pod. The entrypoint appends the
 * paths, addresses and ACL users. Each default is argued in docs/cluster-setup.md ("Config defaults").
 * @internal
 */
export function clusterConfEntries(input: ClusterConfigInput): RedisConfEntries {
  return [
    ...conf.server(input.port),
    ['cluster-enabled', true],
    ['cluster-config-file', 'nodes.conf'],
    // 5 s, not Redis' 15 s: a dead master is replaced in about 6-7 s instead of about 17 s, while a GC-free Redis on
    // a healthy pod network never misses 5 s of pings (the Valkey operator goes down to 2 s).
    ['cluster-node-timeout', input.nodeTimeoutMs],
    // 0: a replica may always fail over, however long its link was down (Redis' 10 forbids failover after
    // 10 x node timeout of silence, which on Kubernetes means a shard that never comes back after a long partition).
    ['cluster-replica-validity-factor', 0],
    ['cluster-require-full-coverage', input.requireFullCoverage],
    ['cluster-allow-reads-when-down', input.allowReadsWhenDown],
    ['cluster-migration-barrier', 1],
    ['cluster-allow-replica-migration', true],
    ['cluster-preferred-endpoint-type', input.preferredEndpointType],
    ...conf.persistence(input),
    ...conf.replication(input.memory),
    ...conf.connection(),
    conf.replicaBuffer(input.memory),
    ...conf.user(input),
  ];
}

/** Renders {@link clusterConfEntries}; client-output-buffer-limit is kept per class. */
export function renderClusterConf(input: ClusterConfigInput, owner: string): string {
  return renderRedisConf(clusterConfEntries(input), `redis.conf of ${owner}, rendered by slotforge`);
}
