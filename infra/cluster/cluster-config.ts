import type { EvictionPolicy } from '../config/directives.ts';
import type { MemoryPlan } from '../config/memory.ts';
import type { ResolvedPersistence } from '../config/profiles.ts';
import { type DirectiveValue, type RedisConfEntries, renderRedisConf } from '../config/redis-conf.ts';

/** What the base redis.conf of a cluster member is made from. */
export interface ClusterConfigInput {
  readonly port: number;
  readonly nodeTimeoutMs: number;
  readonly persistence: ResolvedPersistence;
  readonly memory: MemoryPlan;
  readonly evictionPolicy: EvictionPolicy;
  readonly requireFullCoverage: boolean;
  readonly allowReadsWhenDown: boolean;
  readonly preferredEndpointType: 'ip' | 'hostname';
  /** Validated user directives; they replace the construct's. */
  readonly userConfig: Readonly<Record<string, DirectiveValue>>;
}

/**
 * The base redis.conf of a cluster member: everything that does not depend on the pod. The entrypoint appends the
 * paths, addresses and ACL users. Each default is argued in docs/cluster-setup.md ("Config defaults").
 * @internal
 */
export function clusterConfEntries(input: ClusterConfigInput): RedisConfEntries {
  const { persistence, memory } = input;
  const entries: Array<readonly [string, DirectiveValue]> = [
    ['port', input.port],
    ['protected-mode', false],
    ['daemonize', false],
    ['logfile', ''],
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
    ['appendonly', persistence.aof],
    ['appendfsync', persistence.appendfsync],
    ['aof-use-rdb-preamble', true],
    ['save', persistence.rdb ? persistence.rdb.map(([s, c]) => `${s} ${c}`).join(' ') : ''],
    ['maxmemory', memory.maxmemoryBytes],
    ['maxmemory-policy', input.evictionPolicy],
    // Diskless sync without delay: a replica that rejoins is in sync in about 0.1 s instead of waiting 5 s for
    // others to join the same transfer.
    ['repl-diskless-sync', true],
    ['repl-diskless-sync-delay', 0],
    ['repl-backlog-size', memory.backlogBytes],
    ['tcp-keepalive', 60],
    ['shutdown-timeout', 10],
  ];
  const bufferHard = memory.replicaBufferBytes;
  const out: Array<readonly [string, DirectiveValue]> = [
    ...entries,
    ['client-output-buffer-limit', `replica ${bufferHard} ${Math.floor(bufferHard / 2)} 60`],
    ...Object.entries(input.userConfig),
  ];
  return out;
}

/** Renders {@link clusterConfEntries}; client-output-buffer-limit is kept per class. */
export function renderClusterConf(input: ClusterConfigInput, owner: string): string {
  return renderRedisConf(clusterConfEntries(input), `redis.conf of ${owner}, rendered by slotforge`);
}
